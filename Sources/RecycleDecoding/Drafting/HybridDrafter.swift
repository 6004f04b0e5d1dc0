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
///
/// A recycled candidate beside a spine node is worth only what it adds: it is accepted when
/// the spine's next token is wrong and it is right. Where the spine is wrong the matrix is
/// often wrong too, so the recycler's plain hit rates would overrate it. Those candidates
/// are rated by their own record instead (`besideSpine`): at every spine node the step
/// reached, the rank of the token that really followed, counted only when it was not the
/// spine's own next token.
public final class HybridDrafter: Drafter {
    /// The Token Recycling half: its matrix, hit rates and cost curve serve the whole tree.
    public let recycler: TokenRecycler
    private var spine = SuffixSpine()
    /// Hit rates of recycled candidates that differ from the spine's next token.
    private var besideSpine: AutoTree
    /// The tokens of the last spine drafted (empty: none).
    private var lastSpine: [Int32] = []
    private var lastChoice: SizeChoice?

    /// A hybrid over a `vocabularySize x k` matrix with an automatic tree, started hot or cold,
    /// sizing trees with `costs`.
    public init(vocabularySize: Int, k: Int = 8, start: TokenRecycler.Start = .hot, costs: CostCurve = CostCurve()) {
        recycler = TokenRecycler(vocabularySize: vocabularySize, k: k, shape: .auto, start: start, costs: costs)
        besideSpine = AutoTree(k: k)
    }

    /// "hybrid".
    public var name: String { "hybrid" }
    /// The recycler's `k` and start.
    public var settings: [(name: String, value: String)] { [("k", "\(recycler.k)"), ("start", recycler.start.rawValue)] }
    /// The recycler's `k`: every verified node rewrites its matrix row.
    public var candidatesPerNode: Int { recycler.candidatesPerNode }
    /// The recycler's: true for a cold start, which seeds the matrix from the prompt.
    public var learnsFromPrompt: Bool { recycler.learnsFromPrompt }
    /// The recycler's: its matrix (when hot) and the cost curve.
    public var persistentState: [any PersistentState] { recycler.persistentState }

    /// Starts a generation in both halves: the recycler (a cold start resets its matrix) and
    /// the suffix index (a new document unless the context continues the last one).
    public func begin(context: [Int32]) {
        recycler.begin(context: context)
        spine.begin(context: context)
    }

    /// Seeds the recycler's matrix from the prompt (a cold start).
    public func observePrompt(tokens: [Int32], candidates: [Int32]) { recycler.observePrompt(tokens: tokens, candidates: candidates) }

    /// The spine and the recycled candidates merged in one tree, cut to the size the costs and
    /// hit rates make worth verifying.
    public func draft(root: Int32, context: [Int32]) -> DraftTree {
        spine.catchUp(with: context)
        var tree = CandidateTree(root: root)
        let chain = spine.addSpine(to: &tree)
        lastSpine = chain.map(\.token)
        let auto = recycler.auto, matrix = recycler.matrix
        let beside = chain.isEmpty ? nil : besideSpine.rates
        auto.addRecycled(to: &tree, under: 0, token: root, base: 1, matrix: matrix, firstLevel: beside)
        for (depth, node) in chain.enumerated() {
            // Past the spine's end nothing competes: the recycler's own rates.
            let last = depth == chain.count - 1
            auto.addRecycled(to: &tree, under: node.node, token: node.token, base: node.p, matrix: matrix, levels: 1,
                             firstLevel: last ? nil : beside)
        }
        let (draft, choice) = tree.best(costs: recycler.costs, context: context.count, margin: AutoTree.margin)
        lastChoice = choice
        return draft
    }

    /// The matrix rows the recycler rewrote in the last `observe`.
    public var lastRewrites: [RowRewrite] { recycler.lastRewrites }
    /// How the last tree's size was chosen, with the recycler's hit rates.
    public var lastSizing: TreeSizing? { lastChoice?.sizing(costs: recycler.costs, hitRates: recycler.auto.rates) }

    /// Updates the beside-spine ranks, then lets the recycler learn (matrix, hit rates, cost)
    /// and the spine record how far it was right.
    public func observe(_ verification: Verification) {
        // Before the matrix learns from this step: ranks as they stood when drafting.
        let produced = verification.produced, matrix = recycler.matrix
        var predecessor = verification.tree.tokens[0]
        for (depth, next) in lastSpine.enumerated() where depth < produced.count {
            besideSpine.record(rank: produced[depth] == next ? nil : matrix.rank(of: produced[depth], after: predecessor))
            guard produced[depth] == next else { break }
            predecessor = next
        }
        recycler.observe(verification)
        spine.observe(produced: verification.produced)
    }
}
