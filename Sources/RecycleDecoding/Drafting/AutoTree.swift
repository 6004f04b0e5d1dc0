/// `--tree auto`: chooses the draft tree before every step to maximise expected accepted
/// tokens per second, from two measurements instead of a fixed template.
///
/// 1. What a pass costs: `cost(n)`, seconds to verify a tree of `n` nodes, measured on this
///    machine (`Drafter.calibrate`), again whenever the context has halved or doubled since
///    (attention makes big trees relatively dearer on long contexts). On a CPU it grows
///    quickly with `n`, which is why the paper's 80-node tree loses to plain decoding here.
/// 2. How often candidates are right: `hit[r]`, the recent frequency (an exponential moving
///    average over about the last 20 tokens, so it follows the task at hand) with which the
///    token that really followed was the rank-`r` candidate of the previous token's row.
///    Every step adds one observation per produced token, whatever tree was verified, so the
///    statistics keep flowing even while the tree is just the root.
///
/// A candidate node with rank path `[r0, ..., rd]` is accepted with probability about
/// `hit[r0] * ... * hit[rd]`; a tree made of the `m` most likely nodes (a parent is always at
/// least as likely as its child, so this is a tree) confirms `1 + Σ p` tokens per pass. The
/// tree picked is the `m` that maximises `(1 + Σ p) / cost(m + 1)`; `m = 0` is plain decoding,
/// and a tree must promise `margin` more than plain decoding to be chosen (estimates are noisy).
public struct AutoTree: Sendable {
    /// Every node the tree may use, parents first: the paper's "2.2.2" and a deeper rank-0 spine.
    public let candidates: [[Int]]
    public let k: Int
    /// `costs[n - 1]`: seconds to verify `n` nodes, for `n` in `1...candidates.count + 1`.
    public private(set) var costs: [Double] = []
    /// The context length when `costs` were measured.
    private var calibratedContext = 0
    private var hits: [Double]
    private var observations = 0.0
    /// Weight of the past in the hit statistics, per observation.
    static let decay = 0.95
    /// How much faster than plain decoding a tree must look to be used.
    static let margin = 1.1
    /// The cost ratio cost(n)/cost(1) past which calibration stops measuring.
    static let enough = 3.5

    public init(k: Int) {
        let base = (try? TreeTemplate.named("2.2.2", k: 8).paths) ?? []
        let spine = (7...12).map { [Int](repeating: 0, count: $0) }
        candidates = (base + spine).filter { path in path.allSatisfy { $0 < k } }
        self.k = k
        hits = [Double](repeating: 0, count: k)
    }

    public var isCalibrated: Bool { !costs.isEmpty }

    /// Whether `cost(n)` should be measured (again) for a context of `context` tokens.
    public func needsCalibration(context: Int) -> Bool {
        !isCalibrated || context > 2 * max(calibratedContext, 128) || 2 * context < calibratedContext
    }

    /// Measures `cost(n)` at a few sizes, on a context of `context` tokens, and interpolates
    /// linearly in between. Sizes are measured in increasing order until a pass costs
    /// `enough` times a single token: no tree that big can pay (it would have to confirm more
    /// tokens per pass than Token Recycling's best reported mean), so beyond it the cost is
    /// extrapolated; this keeps the calibration to a fraction of a second on a CPU.
    public mutating func calibrate(context: Int, _ measure: (Int) -> Double) {
        calibratedContext = context
        let largest = candidates.count + 1
        var measured: [(n: Int, seconds: Double)] = []
        for n in [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, largest] where n <= largest {
            measured.append((n, measure(n)))
            if measured.count >= 2, measured[measured.count - 1].seconds >= Self.enough * measured[0].seconds { break }
        }
        costs = (1...largest).map { n in
            // The measured pair around n, or the last two for an extrapolation.
            let upper = measured.firstIndex { $0.n >= n } ?? measured.count - 1
            guard measured[upper].n != n else { return measured[upper].seconds }
            let a = measured[max(upper - 1, 0)], b = measured[upper]
            return a.seconds + (b.seconds - a.seconds) * Double(n - a.n) / Double(max(b.n - a.n, 1))
        }
    }

    /// Records the ranks at which the produced tokens stood in their predecessors' rows
    /// (`rank` nil: not among the candidates).
    public mutating func record(rank: Int?) {
        observations = observations * Self.decay + 1
        for r in hits.indices { hits[r] *= Self.decay }
        if let rank { hits[rank] += 1 }
    }

    /// The best tree for the current statistics and costs.
    public func choose() -> TreeTemplate {
        guard isCalibrated, observations > 0 else { return Self.template([], k: k) }
        let rate = hits.map { $0 / observations }
        let scored = candidates.enumerated().map { (index: $0.offset, path: $0.element,
                                                    p: $0.element.reduce(1.0) { $0 * rate[$1] }) }
        // Most likely first; on ties shallower first, then template order, so parents precede children.
        let ranked = scored.sorted { ($0.p, -$0.path.count, -$0.index) > ($1.p, -$1.path.count, -$1.index) }
        var best = 0, bestRate = Self.margin / costs[0], expected = 1.0
        for (m, node) in ranked.enumerated() where node.p > 0 {
            expected += node.p
            let r = expected / costs[m + 1]
            if r > bestRate { best = m + 1; bestRate = r }
        }
        let chosen = ranked.prefix(best).sorted { ($0.path.count, $0.index) < ($1.path.count, $1.index) }
        return Self.template(chosen.map(\.path), k: k)
    }

    private static func template(_ paths: [[Int]], k: Int) -> TreeTemplate {
        // Valid by construction: ranks < k, and every chosen node's parent is at least as likely.
        try! TreeTemplate(name: "auto", paths: paths, k: k)
    }
}
