/// One query head in a shared attention sweep: its query, where its output goes, and which
/// cache slots it sees: `first..<prefix` (what is committed before, and for a causal batch
/// the batch's own earlier tokens; `first` is 0 unless a sliding window hides the oldest),
/// then the slots listed in `extra` (a draft-tree node's ancestors and itself, root first).
/// Positions increase along that sequence.
public struct AttentionQuery {
    /// `headDim` floats.
    public var query: UnsafePointer<Float>
    /// Receives `headDim` floats.
    public var out: UnsafeMutablePointer<Float>
    /// The first of the leading cache slots (`first..<prefix`) the query sees.
    public var first: Int
    /// The end of the leading cache slots the query sees.
    public var prefix: Int
    /// Further cache slots the query sees after the prefix, in increasing position order.
    public var extra: UnsafeBufferPointer<Int32>

    /// Describes one query head; the pointers must stay valid until the `attend` call returns.
    public init(
        query: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
        first: Int = 0, prefix: Int, extra: UnsafeBufferPointer<Int32>
    ) {
        precondition(first >= 0 && first <= prefix, "a query's leading slots must be a range")
        self.query = query
        self.out = out
        self.first = first
        self.prefix = prefix
        self.extra = extra
    }

    /// Slots the query sees; its scores are indexed `0..<visible` in position order.
    var visible: Int { prefix - first + extra.count }

    /// The cache slot of the query's `j`-th visible position.
    @inline(__always)
    func slot(_ j: Int) -> Int { j < prefix - first ? first + j : Int(extra[j - (prefix - first)]) }
}

/// Scaled dot-product attention of several query heads that read the same key/value head
/// (the query heads of a GQA group, for one token or for all the nodes of a draft tree).
///
/// The leading slots every query sees (`max(first) ..< min(prefix)`) are swept once for
/// all of them: each key and value is loaded once and used by every query, instead of once
/// per query head and token. Each query visits its other slots alone: those before the
/// shared run (a sliding window that starts earlier) and those after it.
///
/// Batch invariance: a query's output depends only on its query and on the keys and
/// values it sees, never on the other queries of the call. For each query the operations
/// are the same, in the same order, as if it were alone: its scores in position order (one
/// `dot16` each, times `scale`), their maximum, `exp16` of each score minus it, the total
/// summed 16 lanes at a time then `horizontalSum`, and `out = Σ_j p_j v_j` accumulated in
/// position order. So plain decoding, a causal batch and a tree node get the same bits
/// (this is what makes speculative decoding exact).
///
/// - Parameters:
///   - queries: at most `attentionQueriesPerSweep` of them.
///   - keys, values: key/value of slot `s` for this head starts at `keys + s * stride`.
///   - headDim: a multiple of 16.
///   - scale: multiplies every score (1/sqrt(headDim) in most models).
///   - scores: scratch of `queries.count * scoreStride` floats, `scoreStride` at least the
///     largest `visible` rounded up to a multiple of 16.
public func attend(
    _ queries: UnsafeBufferPointer<AttentionQuery>,
    keys: UnsafePointer<Float>, values: UnsafePointer<Float>, stride: Int, headDim: Int, scale: Float,
    scores: UnsafeMutablePointer<Float>, scoreStride: Int
) {
    precondition(queries.count <= attentionQueriesPerSweep && headDim % 16 == 0)
    // The shared run of slots; empty when some query's window starts after another's prefix.
    let sharedStart = queries.lazy.map(\.first).max() ?? 0
    let sharedEnd = max(sharedStart, queries.lazy.map(\.prefix).min() ?? 0)
    @inline(__always) func row(_ q: Int) -> UnsafeMutablePointer<Float> { scores + q * scoreStride }
    // A query's own slots: score indices `0..<before(q)` come before the shared run,
    // `after(q)..<visible` after it (both clamped to its prefix, for an empty run).
    @inline(__always) func before(_ q: AttentionQuery) -> Int { min(sharedStart, q.prefix) - q.first }
    @inline(__always) func after(_ q: AttentionQuery) -> Int { min(sharedEnd, q.prefix) - q.first }

    // Scores: the shared slots once for all queries, then each query's own.
    for j in sharedStart..<sharedEnd {
        let k = keys + j * stride
        for (i, q) in queries.enumerated() { row(i)[j - q.first] = dot16(q.query, k, count: headDim) * scale }
    }
    var totals = (Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0))
    for (i, q) in queries.enumerated() {
        let s = row(i)
        for j in 0..<before(q) { s[j] = dot16(q.query, keys + (q.first + j) * stride, count: headDim) * scale }
        for j in after(q)..<q.visible { s[j] = dot16(q.query, keys + q.slot(j) * stride, count: headDim) * scale }
        let total = softmaxNumerators(s, count: q.visible)
        withUnsafeMutableBytes(of: &totals) { $0.storeBytes(of: total, toByteOffset: 4 * i, as: Float.self) }
    }

    // out = Σ_j p_j v_j / total, 16 dimensions at a time, in position order: each query's
    // slots before the shared run, the shared run, then each query's slots after it. The
    // shared slots go in runs of 16: a run's values (1 kB) stay in L1 while every query adds
    // them to its accumulator, which lives in a register within the run and in `out`
    // between runs.
    var d = 0
    while d < headDim {
        /// Adds the query's visible slots `range` (indices into its scores) into `out`.
        @inline(__always) func accumulate(_ i: Int, _ q: AttentionQuery, _ range: Range<Int>) {
            let o = UnsafeMutableRawPointer(q.out + d), p = row(i)
            var sum = o.loadUnaligned(as: SIMD16<Float>.self)
            for j in range {
                let v = UnsafeRawPointer(values + q.slot(j) * stride + d).loadUnaligned(as: SIMD16<Float>.self)
                sum = sum.addingProduct(SIMD16(repeating: p[j]), v)
            }
            o.storeBytes(of: sum, as: SIMD16<Float>.self)
        }
        for (i, q) in queries.enumerated() {
            UnsafeMutableRawPointer(q.out + d).storeBytes(of: SIMD16<Float>(), as: SIMD16<Float>.self)
            accumulate(i, q, 0..<before(q))
        }
        var j0 = sharedStart
        while j0 < sharedEnd {
            let j1 = min(j0 + 16, sharedEnd)
            for (i, q) in queries.enumerated() {
                let o = UnsafeMutableRawPointer(q.out + d), p = row(i) - q.first
                var sum = o.loadUnaligned(as: SIMD16<Float>.self)
                for j in j0..<j1 {
                    let v = UnsafeRawPointer(values + j * stride + d).loadUnaligned(as: SIMD16<Float>.self)
                    sum = sum.addingProduct(SIMD16(repeating: p[j]), v)
                }
                o.storeBytes(of: sum, as: SIMD16<Float>.self)
            }
            j0 = j1
        }
        for (i, q) in queries.enumerated() {
            accumulate(i, q, after(q)..<q.visible)
            let o = UnsafeMutableRawPointer(q.out + d)
            let total = withUnsafeBytes(of: totals) { $0.load(fromByteOffset: 4 * i, as: Float.self) }
            o.storeBytes(of: o.loadUnaligned(as: SIMD16<Float>.self) * SIMD16(repeating: 1 / total), as: SIMD16<Float>.self)
        }
        d += 16
    }
}

/// Queries one `attend` call takes: its accumulators stay in registers.
public let attentionQueriesPerSweep = 8

/// Replaces `s[0..<count]` by `exp(s[j] - max)` and returns their sum; the sum runs over
/// 16 lanes in order of `j` (lane `j % 16`), then `horizontalSum`, so it depends only on
/// the scores. `s` has room for `count` rounded up to 16.
@inline(__always)
private func softmaxNumerators(_ s: UnsafeMutablePointer<Float>, count: Int) -> Float {
    let padded = (count + 15) & ~15
    for j in count..<padded { s[j] = -.infinity }
    let raw = UnsafeMutableRawPointer(s)
    var m = SIMD16<Float>(repeating: -.infinity)
    for c in stride(from: 0, to: padded, by: 16) {
        let v = raw.load(fromByteOffset: 4 * c, as: SIMD16<Float>.self)
        m = m.replacing(with: v, where: v .> m)
    }
    let top = SIMD16<Float>(repeating: maximum(m))
    var sum = SIMD16<Float>()
    for c in stride(from: 0, to: padded, by: 16) {
        let e = exp16(raw.load(fromByteOffset: 4 * c, as: SIMD16<Float>.self) - top)
        raw.storeBytes(of: e, toByteOffset: 4 * c, as: SIMD16<Float>.self)
        sum += e
    }
    return horizontalSum(sum)
}

@inline(__always)
private func maximum(_ v: SIMD16<Float>) -> Float {
    var m = v[0]
    for i in 1..<16 where v[i] > m { m = v[i] }
    return m
}

/// `e^x` for `x <= 88` (a softmax numerator, a gate's sigmoid), lane by lane with the same
/// operations in every lane, so an element's value never depends on its lane or
/// neighbours: `x = n ln2 + r`
/// with `|r| <= ln2 / 2` (Cody-Waite: ln2 in two parts), a degree-6 Taylor polynomial for
/// `e^r` (relative error about 1e-7), and `2^n` built from its exponent bits. Below -87
/// (where `e^x` leaves the normal floats) and for -inf, the result is 0.
@inline(__always)
func exp16(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let underflow = x .< SIMD16(repeating: -87)
    let xc = x.replacing(with: SIMD16(repeating: -87), where: underflow)
    // n = rint(x / ln2): adding 1.5 * 2^23 leaves it, rounded half to even, in the low bits.
    let magic = SIMD16<Float>(repeating: 12_582_912)
    let shifted = magic.addingProduct(xc, SIMD16(repeating: 1.442_695_04))
    let n = shifted - magic
    var r = xc.addingProduct(n, SIMD16(repeating: -0.693_359_375))
    r = r.addingProduct(n, SIMD16(repeating: 2.121_944_4e-4))
    var p = SIMD16<Float>(repeating: 1.0 / 720)
    p = SIMD16(repeating: 1.0 / 120).addingProduct(p, r)
    p = SIMD16(repeating: 1.0 / 24).addingProduct(p, r)
    p = SIMD16(repeating: 1.0 / 6).addingProduct(p, r)
    p = SIMD16(repeating: 0.5).addingProduct(p, r)
    p = SIMD16(repeating: 1).addingProduct(p, r)
    p = SIMD16(repeating: 1).addingProduct(p, r)
    let exponent = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- unsafeBitCast(magic, to: SIMD16<Int32>.self)
    let twoToN = unsafeBitCast((exponent &+ SIMD16(repeating: 127)) &<< SIMD16(repeating: 23), to: SIMD16<Float>.self)
    return (p * twoToN).replacing(with: SIMD16(), where: underflow)
}

/// `exp16`, for the kernel tests.
public func softmaxExponentialForTesting(_ x: SIMD16<Float>) -> SIMD16<Float> { exp16(x) }
