import Glibc

/// Which dimensions of a head rotate together in RoPE (docs/FORMAT.md, `rope_pairing`).
public enum RopePairing: String, Sendable, Codable {
    /// Pair `i` is dimensions `(2i, 2i+1)`: the GGUF / llama.cpp row layout of llama models.
    case adjacent
    /// Pair `i` is dimensions `(i, i + headDim/2)`: Hugging Face's layout, which llama.cpp
    /// keeps for Gemma ("NEOX" rotation).
    case halves
}

/// Rotary position embedding tables and their application.
///
/// Pair `i` of each head (see `RopePairing`) is rotated by `position * theta^(-2i / headDim)`.
/// Angles are computed in double precision once per position, so the table is exact to f32
/// rounding at every position.
public struct RopeTable: Sendable {
    /// Floats per head; even, since dimensions rotate in pairs.
    public let headDim: Int
    /// Which dimensions form a pair.
    public let pairing: RopePairing
    /// Number of positions the table covers (`0..<positions`); `apply` traps beyond it.
    public let positions: Int
    /// `[positions][headDim / 2]` cosines and sines.
    private let cosines: [Float]
    private let sines: [Float]

    /// Computes the cosines and sines for positions `0..<positions` with base `theta` (10000 in
    /// the original RoPE).
    public init(headDim: Int, theta: Double, pairing: RopePairing, positions: Int) {
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
        self.pairing = pairing
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
                // Dimension `i * step` pairs with `i * step + offset`.
                let (step, offset) = pairing == .adjacent ? (2, 1) : (1, half)
                for h in 0..<heads {
                    let head = v + h * headDim
                    for i in 0..<half {
                        let x0 = head[i * step], x1 = head[i * step + offset]
                        head[i * step] = x0 * c[i] - x1 * s[i]
                        head[i * step + offset] = x0 * s[i] + x1 * c[i]
                    }
                }
            }
        }
    }
}
