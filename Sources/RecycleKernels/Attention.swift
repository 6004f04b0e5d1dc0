import Foundation

/// Scaled dot-product attention of one query head over the keys/values it may see.
///
/// The visible keys are the cache slots `0..<prefix` (everything committed before, and for
/// a causal batch the batch's own earlier tokens), followed by the slots listed in `extra`
/// (a draft-tree node's ancestors and itself, root first). Positions increase along that
/// sequence, so plain decoding, a causal batch and a tree node all visit their keys in
/// position order with the same operations: a token's output depends only on its query
/// and on the keys it sees, never on the batch (this makes speculative decoding bit-exact).
///
/// - Parameters:
///   - query: `headDim` floats (`headDim` a multiple of 16).
///   - keys, values: key/value of slot `s` for this head starts at `keys + s * stride`.
///   - prefix: slots `0..<prefix` are visible.
///   - extra: further visible slots, in position order.
///   - scores: scratch of at least `prefix + extra.count` floats.
///   - out: receives `headDim` floats.
public func attend(
    query: UnsafePointer<Float>,
    keys: UnsafePointer<Float>, values: UnsafePointer<Float>, stride: Int,
    prefix: Int, extra: UnsafeBufferPointer<Int32>,
    headDim: Int, scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
) {
    let count = prefix + extra.count
    @inline(__always) func slot(_ j: Int) -> Int { j < prefix ? j : Int(extra[j - prefix]) }

    let scale = 1 / Float(headDim).squareRoot()
    var maximum = -Float.infinity
    for j in 0..<count {
        let s = dot16(query, keys + slot(j) * stride, count: headDim) * scale
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
            let v = UnsafeRawPointer(values + slot(j) * stride + d).loadUnaligned(as: SIMD16<Float>.self)
            acc = acc.addingProduct(SIMD16(repeating: scores[j]), v)
        }
        ro.storeBytes(of: acc * SIMD16(repeating: 1 / total), toByteOffset: 4 * d, as: SIMD16<Float>.self)
        d += 16
    }
}
