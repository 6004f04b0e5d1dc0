/// Token Recycling on a suffix-match spine, in one tree per pass (after SAM-Decoding, which
/// combines a suffix automaton with Token Recycling).
///
/// Each source proposes what it is good at: a suffix match the verbatim continuation of a
/// repeated passage, the recycled matrix the model's usual next tokens. Both go into one
/// `CandidateTree`: the spine under the root, the recycled tree under the root, and one level
/// of recycled candidates under every spine node (where the repetition stops, the model's
/// usual successor often takes over). A token proposed by both is verified once. Which nodes
/// are verified follows from each source's own record (per rank for recycled candidates, per
/// match length and depth for the spine) against the measured cost of a pass, so a long
/// match buys a deep chain, and a weak context a few recycled branches or nothing at all.
/// The matrix learns from every verified node, as in the paper.
public final class HybridDrafter: Drafter {
    public let recycler: TokenRecycler
    private var spine = SuffixSpine()

    public init(vocabularySize: Int, k: Int = 8, start: TokenRecycler.Start = .hot, costs: CostCurve = CostCurve()) {
        recycler = TokenRecycler(vocabularySize: vocabularySize, k: k, shape: .auto, start: start, costs: costs)
    }

    public var name: String { "hybrid" }
    public var settings: [(name: String, value: String)] { [("start", recycler.start.rawValue)] }
    public var candidatesPerNode: Int { recycler.candidatesPerNode }
    public var learnsFromPrompt: Bool { recycler.learnsFromPrompt }
    public var persistentState: [any PersistentState] { recycler.persistentState }

    public func calibrate(context: Int, using measure: (Int) -> Double) { recycler.calibrate(context: context, using: measure) }

    public func begin(context: [Int32]) {
        recycler.begin(context: context)
        spine.begin(context: context)
    }

    public func observePrompt(tokens: [Int32], candidates: [Int32]) { recycler.observePrompt(tokens: tokens, candidates: candidates) }

    public func draft(root: Int32, context: [Int32]) -> DraftTree {
        spine.catchUp(with: context)
        var tree = CandidateTree(root: root)
        let chain = spine.addSpine(to: &tree)
        let auto = recycler.auto, matrix = recycler.matrix
        auto.addRecycled(to: &tree, under: 0, token: root, base: 1, matrix: matrix)
        for node in chain { auto.addRecycled(to: &tree, under: node.node, token: node.token, base: node.p, matrix: matrix, levels: 1) }
        return tree.best(costs: recycler.costs, context: context.count, margin: AutoTree.margin)
    }

    public func observe(_ verification: Verification) {
        recycler.observe(verification)
        spine.observe(produced: verification.produced)
    }
}
