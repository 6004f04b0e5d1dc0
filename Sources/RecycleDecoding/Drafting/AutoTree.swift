/// `--tree auto`'s half of the bet: how often recycled candidates are right, and which
/// recycled nodes that makes worth verifying. (The other half, what a pass costs, is the
/// `CostCurve`; `CandidateTree` weighs one against the other.)
///
/// `hit[r]` is the recent frequency (an exponential moving average over about the last 20
/// tokens, so it follows the task at hand) with which the token that really followed was
/// the rank-`r` candidate of the previous token's row. Every step adds one observation per
/// produced token, whatever tree was verified, so the statistics keep flowing even while the
/// tree is just the root. A node with rank path `[r0, ..., rd]` is accepted with probability
/// about `hit[r0] * ... * hit[rd]`.
public struct AutoTree: Sendable {
    /// Every node the tree may use, parents first: the paper's "2.2.2" and a deeper rank-0
    /// spine. Parents in tree numbering: the root is node 0, path `i` is node `i + 1`.
    public let candidates: TreeTemplate
    /// Candidates per matrix row: ranks run `0..<k`.
    public let k: Int
    private var hits: [Double]
    private var observations = 0.0
    /// Weight of the past in the hit statistics, per observation.
    static let decay = 0.95
    /// How much faster than plain decoding a tree must look to be used.
    static let margin = 1.1

    /// Statistics for rows of `k` candidates, with no observation yet (every hit rate 0).
    public init(k: Int) {
        let base = (try? TreeTemplate.named("2.2.2", k: 8).paths) ?? []
        let spine = (7...12).map { [Int](repeating: 0, count: $0) }
        // Valid by construction: the 2.2.2 template, then a chain under its deepest rank-0 node.
        candidates = try! TreeTemplate(name: "auto", paths: (base + spine).filter { $0.allSatisfy { $0 < k } }, k: k)
        self.k = k
        hits = [Double](repeating: 0, count: k)
    }

    /// Records the rank at which a produced token stood in its predecessor's row (nil: not
    /// among the candidates).
    public mutating func record(rank: Int?) {
        observations = observations * Self.decay + 1
        for r in hits.indices { hits[r] *= Self.decay }
        if let rank { hits[rank] += 1 }
    }

    /// The recent hit rate of each rank.
    public var rates: [Double] { hits.map { observations > 0 ? $0 / observations : 0 } }

    /// The recycled tree worth verifying after `root` on a context of `context` tokens: the
    /// most likely nodes, as many as the cost of a pass makes worth it (none while the costs
    /// are not measured or nothing has been observed yet), and how its size was chosen.
    public func draft(root: Int32, matrix: AdjacencyMatrix, costs: CostCurve, context: Int) -> (tree: DraftTree, choice: SizeChoice) {
        var tree = CandidateTree(root: root)
        addRecycled(to: &tree, under: 0, token: root, base: 1, matrix: matrix)
        return tree.best(costs: costs, context: context, margin: Self.margin)
    }

    /// Adds the recycled nodes below `node` (whose token is `token`), down to `levels`
    /// levels, each with probability `base` times its ranks' hit rates (`firstLevel` instead
    /// for the nodes right below `node`, if given).
    func addRecycled(to tree: inout CandidateTree, under node: Int, token: Int32, base: Double,
                     matrix: AdjacencyMatrix, levels: Int = .max, firstLevel: [Double]? = nil) {
        let rate = rates, first = firstLevel ?? rate
        // Tree node and probability of each candidate path (nil: not added).
        var placed = [(node: Int, token: Int32, p: Double)?](repeating: nil, count: candidates.count + 1)
        placed[0] = (node, token, base)
        for (i, path) in candidates.paths.enumerated() where path.count <= levels {
            guard let parent = placed[candidates.parents[i]] else { continue }
            let p = parent.p * (path.count == 1 ? first : rate)[path[path.count - 1]]
            guard p > 0 else { continue }
            let child = matrix.candidate(after: parent.token, rank: path[path.count - 1])
            let rank = path[path.count - 1]
            let node = tree.add(child, parent: parent.node, p: p, source: .recycled(rowOf: parent.token, rank: rank))
            placed[i + 1] = (node, child, p)
        }
    }
}
