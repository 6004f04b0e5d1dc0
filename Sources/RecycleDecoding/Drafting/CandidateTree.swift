/// Every node a drafter could propose this step, each with an estimate of the probability that
/// verification accepts it, merged by token path from any number of sources (recycled
/// candidates, a suffix match's continuation); then the most likely nodes that a pass can
/// afford become the draft.
///
/// Merging is what lets sources share one pass: a token proposed twice under the same parent
/// is one node, verified once, whose estimate is the larger of the two. A parent is then
/// always at least as likely as its child (each source's estimate shrinks along its own path,
/// and a maximum keeps that), so the most likely `m` nodes always form a tree.
struct CandidateTree {
    private(set) var tree: DraftTree
    private(set) var probabilities: [Double] = [1]
    private(set) var depths: [Int] = [0]
    /// (parent node << 32 | token) -> node.
    private var children: [UInt64: Int] = [:]

    init(root: Int32) { tree = DraftTree(root: root) }

    /// Adds `token` under node `parent` with acceptance probability `p`, or raises the
    /// estimate of the node already there; returns the node.
    @discardableResult
    mutating func add(_ token: Int32, parent: Int, p: Double, source: DraftSource) -> Int {
        let key = UInt64(parent) << 32 | UInt64(UInt32(bitPattern: token))
        if let node = children[key] {
            probabilities[node] = max(probabilities[node], p)
            tree.addSource(source, to: node)
            return node
        }
        let node = tree.add(token, parent: parent, source: source)
        children[key] = node
        probabilities.append(p)
        depths.append(depths[parent] + 1)
        return node
    }

    /// The draft: the root and the `m` most likely nodes, where `m` maximises the expected
    /// tokens per second under `costs` (see `CostCurve.bestSize`), and how that size was chosen.
    func best(costs: CostCurve, context: Int, margin: Double) -> (tree: DraftTree, choice: SizeChoice) {
        // Most likely first; on ties shallower first, then older, so parents precede children.
        let ranked = (1..<tree.count).sorted {
            (probabilities[$0], -depths[$0], -$0) > (probabilities[$1], -depths[$1], -$1)
        }
        let estimates = ranked.map { probabilities[$0] }
        let m = costs.bestSize(estimates, context: context, margin: margin)
        // In the order they were added, which lists every parent before its children.
        let chosen = ranked.prefix(m).sorted()
        var index = [0: 0]
        var draft = DraftTree(root: tree.tokens[0])
        for node in chosen {
            index[node] = draft.add(tree.tokens[node], parent: index[tree.parents[node]]!, source: tree.sources[node])
        }
        return (draft, SizeChoice(probabilities: estimates, chosen: m, context: context))
    }
}
