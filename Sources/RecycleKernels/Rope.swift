import Glibc

/// Rotary position embedding tables and their application.
///
/// Pairs are *adjacent* dimensions `(2i, 2i+1)` of each head (the GGUF / llama.cpp row
/// layout, `rope_pairing: "adjacent"` in docs/FORMAT.md), rotated by
/// `position * theta^(-2i / headDim)`. Angles are computed in double precision once per
/// position, so the table is exact to f32 rounding at every position.
public struct RopeTable: Sendable {
    /// Floats per head; even, since dimensions rotate in pairs.
    public let headDim: Int
    /// Number of positions the table covers (`0..<positions`); `apply` traps beyond it.
    public let positions: Int
    /// `[positions][headDim / 2]` cosines and sines.
    private let cosines: [Float]
    private let sines: [Float]

    /// Computes the cosines and sines for positions `0..<positions` with base `theta` (10000 in
    /// the original RoPE).
    public init(headDim: Int, theta: Double, positions: Int) {
        precondition(headDim % 2 == 0, "head dimension must be even")
        let half = headDim / 2
        var c = [Float](repeating: 0, count: positions * half)
        var s = [Float](repeating: 0, count: positions * half)
        for p in 0..<positions {
            for i in 0..<half {
                let angle = Double(p) * pow(theta, -Double(2 * i) / Double(headDim))
                c[p * half + i] = Float(cos(angle))
                s[p * half + i] = Float(sin(angle))
            }
        }
        self.headDim = headDim
        self.positions = positions
        self.cosines = c
        self.sines = s
    }

    /// Rotates `heads` consecutive heads of `headDim` floats, all at `position`.
    public func apply(_ v: UnsafeMutablePointer<Float>, heads: Int, position: Int) {
        precondition(position >= 0 && position < positions, "position beyond the RoPE table")
        let half = headDim / 2
        cosines.withUnsafeBufferPointer { cb in
            sines.withUnsafeBufferPointer { sb in
                let c = cb.baseAddress! + position * half, s = sb.baseAddress! + position * half
                for h in 0..<heads {
                    let head = v + h * headDim
                    for i in 0..<half {
                        let x0 = head[2 * i], x1 = head[2 * i + 1]
                        head[2 * i] = x0 * c[i] - x1 * s[i]
                        head[2 * i + 1] = x0 * s[i] + x1 * c[i]
                    }
                }
            }
        }
    }
}
