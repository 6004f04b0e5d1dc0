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
/// The leading slots every query sees (`max(first) ..< min(prefix)`) form a shared run.
/// Its keys and then its values are swept once for all the queries, in runs of 16 slots
/// that stay in L1 while every query uses them, so each comes from memory once per call.
/// Each query visits its other slots alone: those before the shared run (a sliding window
/// that starts earlier) and those after it.
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

    // Scores of the shared run, in runs of 16 keys that stay in L1 while every query's
    // scores against them are computed (four keys at a time, `dots`: four dot products in
    // flight instead of one chain), so each key comes from memory once per call.
    var k0 = sharedStart
    while k0 < sharedEnd {
        let k1 = min(k0 + 16, sharedEnd)
        for (i, q) in queries.enumerated() {
            let s = row(i) - q.first
            var j = k0
            while j + 4 <= k1 {
                let k = keys + j * stride
                let t = dots(q.query, k, k + stride, k + 2 * stride, k + 3 * stride, count: headDim)
                s[j] = t.0 * scale; s[j + 1] = t.1 * scale; s[j + 2] = t.2 * scale; s[j + 3] = t.3 * scale
                j += 4
            }
            while j < k1 {
                s[j] = dot16(q.query, keys + j * stride, count: headDim) * scale
                j += 1
            }
        }
        k0 = k1
    }
    // Then each query's own slots, and its softmax.
    var totals = (Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0))
    for (i, q) in queries.enumerated() {
        let s = row(i)
        for j in 0..<before(q) { s[j] = dot16(q.query, keys + (q.first + j) * stride, count: headDim) * scale }
        for j in after(q)..<q.visible { s[j] = dot16(q.query, keys + q.slot(j) * stride, count: headDim) * scale }
        let total = softmaxNumerators(s, count: q.visible)
        withUnsafeMutableBytes(of: &totals) { $0.storeBytes(of: total, toByteOffset: 4 * i, as: Float.self) }
    }

    // out = Σ_j p_j v_j / total, in position order: each query's slots before the shared
    // run, the shared run, then each query's slots after it. 64 dimensions at a time (four
    // independent accumulator chains, `Accumulator`), 16 where fewer are left. The shared
    // slots go in runs of 16: a run's values stay in L1 while every query adds them to its
    // accumulators, which live in registers within the run and in `out` between runs.
    var d = 0
    while d < headDim {
        let width = headDim - d >= 64 ? 4 : 1
        @inline(__always) func sweep<A: Accumulator>(_: A.Type) {
            /// Adds the query's visible slots `range` (indices into its scores) into `out`.
            @inline(__always) func accumulate(_ i: Int, _ q: AttentionQuery, _ range: Range<Int>) {
                let p = row(i)
                var sum = A(q.out + d)
                for j in range { sum.add(p[j], values + q.slot(j) * stride + d) }
                sum.store(q.out + d)
            }
            for (i, q) in queries.enumerated() {
                A.zero(q.out + d)
                accumulate(i, q, 0..<before(q))
            }
            var j0 = sharedStart
            while j0 < sharedEnd {
                let j1 = min(j0 + 16, sharedEnd)
                for (i, q) in queries.enumerated() {
                    let p = row(i) - q.first
                    var sum = A(q.out + d)
                    for j in j0..<j1 { sum.add(p[j], values + j * stride + d) }
                    sum.store(q.out + d)
                }
                j0 = j1
            }
            for (i, q) in queries.enumerated() {
                accumulate(i, q, after(q)..<q.visible)
                let total = withUnsafeBytes(of: totals) { $0.load(fromByteOffset: 4 * i, as: Float.self) }
                var sum = A(q.out + d)
                sum.scale(by: 1 / total)
                sum.store(q.out + d)
            }
        }
        if width == 4 { sweep(Accumulator64.self) } else { sweep(Accumulator16.self) }
        d += 16 * width
    }
}

/// `count` (a multiple of 16) dimensions of a query's output being summed: one SIMD16
/// chain per 16 dimensions, each `sum = fma(p, v, sum)` in position order, so a dimension's
/// value does not depend on how many are summed side by side.
private protocol Accumulator {
    /// Loads the partial sums at `out`.
    init(_ out: UnsafeMutablePointer<Float>)
    /// `sum += p * v` for the value row at `v`.
    mutating func add(_ p: Float, _ v: UnsafePointer<Float>)
    /// `sum *= s`.
    mutating func scale(by s: Float)
    func store(_ out: UnsafeMutablePointer<Float>)
    static func zero(_ out: UnsafeMutablePointer<Float>)
}

private struct Accumulator16: Accumulator {
    var a: SIMD16<Float>
    @inline(__always) init(_ out: UnsafeMutablePointer<Float>) { a = UnsafeRawPointer(out).loadUnaligned(as: SIMD16<Float>.self) }
    @inline(__always) mutating func add(_ p: Float, _ v: UnsafePointer<Float>) {
        a = a.addingProduct(SIMD16(repeating: p), UnsafeRawPointer(v).loadUnaligned(as: SIMD16<Float>.self))
    }
    @inline(__always) mutating func scale(by s: Float) { a *= SIMD16(repeating: s) }
    @inline(__always) func store(_ out: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(out).storeBytes(of: a, as: SIMD16<Float>.self) }
    @inline(__always) static func zero(_ out: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(out).storeBytes(of: SIMD16<Float>(), as: SIMD16<Float>.self)
    }
}

private struct Accumulator64: Accumulator {
    var a0, a1, a2, a3: SIMD16<Float>
    @inline(__always) init(_ out: UnsafeMutablePointer<Float>) {
        let o = UnsafeRawPointer(out)
        a0 = o.loadUnaligned(as: SIMD16<Float>.self); a1 = o.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
        a2 = o.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self); a3 = o.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self)
    }
    @inline(__always) mutating func add(_ p: Float, _ v: UnsafePointer<Float>) {
        let r = UnsafeRawPointer(v), pp = SIMD16<Float>(repeating: p)
        a0 = a0.addingProduct(pp, r.loadUnaligned(as: SIMD16<Float>.self))
        a1 = a1.addingProduct(pp, r.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self))
        a2 = a2.addingProduct(pp, r.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self))
        a3 = a3.addingProduct(pp, r.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self))
    }
    @inline(__always) mutating func scale(by s: Float) {
        let ss = SIMD16<Float>(repeating: s)
        a0 *= ss; a1 *= ss; a2 *= ss; a3 *= ss
    }
    @inline(__always) func store(_ out: UnsafeMutablePointer<Float>) {
        let o = UnsafeMutableRawPointer(out)
        o.storeBytes(of: a0, as: SIMD16<Float>.self); o.storeBytes(of: a1, toByteOffset: 64, as: SIMD16<Float>.self)
        o.storeBytes(of: a2, toByteOffset: 128, as: SIMD16<Float>.self); o.storeBytes(of: a3, toByteOffset: 192, as: SIMD16<Float>.self)
    }
    @inline(__always) static func zero(_ out: UnsafeMutablePointer<Float>) { Accumulator64(zeros: ()).store(out) }
    @inline(__always) private init(zeros: Void) { a0 = SIMD16(); a1 = a0; a2 = a0; a3 = a0 }
}

/// `dot16(q, k_m)` for four keys at once: the same operations for each, in four
/// independent chains.
@inline(__always)
private func dots(
    _ q: UnsafePointer<Float>, _ k0: UnsafePointer<Float>, _ k1: UnsafePointer<Float>,
    _ k2: UnsafePointer<Float>, _ k3: UnsafePointer<Float>, count: Int
) -> (Float, Float, Float, Float) {
    let rq = UnsafeRawPointer(q), r0 = UnsafeRawPointer(k0), r1 = UnsafeRawPointer(k1)
    let r2 = UnsafeRawPointer(k2), r3 = UnsafeRawPointer(k3)
    var a0 = SIMD16<Float>(), a1 = a0, a2 = a0, a3 = a0
    var i = 0
    while i < count {
        let o = 4 * i, v = rq.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
        a0 = a0.addingProduct(v, r0.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
        a1 = a1.addingProduct(v, r1.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
        a2 = a2.addingProduct(v, r2.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
        a3 = a3.addingProduct(v, r3.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
        i += 16
    }
    return (horizontalSum(a0), horizontalSum(a1), horizontalSum(a2), horizontalSum(a3))
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
    // `floor .> x`, not `x .< floor`: the optimizer turns the first into one vector compare
    // and the second into a loop over the 16 lanes (a `vucomiss` each; measured 4x slower).
    let floor = SIMD16<Float>(repeating: -87)
    let xc = x.replacing(with: floor, where: floor .> x)
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
    return (p * twoToN).replacing(with: SIMD16(), where: floor .> x)
}

/// `exp16`, for the kernel tests.
public func softmaxExponentialForTesting(_ x: SIMD16<Float>) -> SIMD16<Float> { exp16(x) }
