import Foundation

/// Scaled dot-product attention of one query head over a run of cached keys/values.
///
/// Batch invariance: the keys are visited in position order `0..<count` and every step
/// uses the same operations, so a token's output depends only on its query and on the
/// keys it sees, never on which other tokens share the forward pass.
///
/// - Parameters:
///   - query: `headDim` floats (`headDim` a multiple of 16).
///   - keys, values: key/value `j` of this head starts at `keys + j * stride`.
///   - count: how many keys are visible (positions `0..<count`).
///   - scores: scratch of at least `count` floats.
///   - out: receives `headDim` floats.
public func attend(
    query: UnsafePointer<Float>,
    keys: UnsafePointer<Float>, values: UnsafePointer<Float>, stride: Int, count: Int,
    headDim: Int, scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
) {
    let scale = 1 / Float(headDim).squareRoot()
    var maximum = -Float.infinity
    for j in 0..<count {
        let s = dot16(query, keys + j * stride, count: headDim) * scale
        scores[j] = s
        maximum = max(maximum, s)
    }
    var total: Float = 0
    for j in 0..<count {
        let e = expf(scores[j] - maximum)
        scores[j] = e
        total += e
    }
    // out = Σ_j p_j v_j, accumulated in position order, 16 lanes at a time.
    let ro = UnsafeMutableRawPointer(out)
    var d = 0
    while d < headDim {
        var acc = SIMD16<Float>()
        for j in 0..<count {
            let v = UnsafeRawPointer(values + j * stride + d).loadUnaligned(as: SIMD16<Float>.self)
            acc = acc.addingProduct(SIMD16(repeating: scores[j]), v)
        }
        ro.storeBytes(of: acc * SIMD16(repeating: 1 / total), toByteOffset: 4 * d, as: SIMD16<Float>.self)
        d += 16
    }
}
