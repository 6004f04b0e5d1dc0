/// Token Recycling (Luo et al., arXiv 2408.08696): reuse the runner-up tokens that every
/// verification pass computes anyway.
///
/// An adjacency matrix holds, for every token of the vocabulary, the top-`k` tokens the model
/// last predicted after it. A draft tree is filled breadth-first along a tree template,
/// starting from the root token: the node at rank path `[r0, r1]` is row
/// `matrix[matrix[root][r0]]` at column `r1`. After verification, the row of every tree node's
/// token is overwritten with the top-`k` of that node's logits, so the matrix keeps learning
/// from the model's own predictions, across prompts when the start is hot.
///
/// With `TreeShape.auto` the template is not fixed: each step drafts the recycled nodes that
/// the measured cost of a pass and the recent hit rates of each rank make worth verifying.
public final class TokenRecycler: Drafter {
    /// Whether the matrix carries over from one prompt to the next (`--start`).
    public enum Start: String, Sendable {
        /// The matrix persists across prompts and turns (the paper's default).
        case hot
        /// The matrix is reset for every prompt, then seeded from the prompt's own top-k.
        case cold
    }

    /// The tree's shape: a fixed template, or sized anew every step.
    public let shape: TreeShape
    /// Hot or cold start.
    public let start: Start
    /// The adjacency matrix drafts are read from and verification writes to.
    public let matrix: AdjacencyMatrix
    /// Hit statistics of the ranks, kept for `TreeShape.auto` (a hybrid reads its recycler's).
    public private(set) var auto: AutoTree
    /// What a pass costs, for `TreeShape.auto`.
    public let costs: CostCurve
    /// The last auto tree's sizing, and the rows the last pass rewrote, for traces.
    private var lastChoice: SizeChoice?
    private var rewriteLog = RewriteLog()

    /// A recycler with an all-zero `vocabularySize x k` matrix; `costs` is used with
    /// `TreeShape.auto` only.
    public init(vocabularySize: Int, k: Int = 8, shape: TreeShape, start: Start = .hot, costs: CostCurve = CostCurve()) {
        matrix = AdjacencyMatrix(vocabularySize: vocabularySize, k: k)
        auto = AutoTree(k: k)
        self.shape = shape
        self.start = start
        self.costs = costs
    }

    /// Candidates per matrix row.
    public var k: Int { matrix.k }
    /// "recycle".
    public var name: String { "recycle" }
    /// The tree shape, `k` and start.
    public var settings: [(name: String, value: String)] { [("tree", shape.name), ("k", "\(k)"), ("start", start.rawValue)] }
    /// `k`: every verified node's top-`k` replaces its token's row.
    public var candidatesPerNode: Int { k }
    /// True for a cold start, which seeds the matrix from the prompt.
    public var learnsFromPrompt: Bool { start == .cold }
    /// The matrix only when hot: a cold start resets it for every prompt, so a saved copy
    /// would never be read, and saving it would replace a hot run's copy with one prompt's.
    public var persistentState: [any PersistentState] {
        (start == .hot ? [matrix] : []) + (shape == .auto ? [costs] : [])
    }

    /// Resets the matrix for a cold start; a hot one keeps it.
    public func begin(context: [Int32]) {
        if start == .cold { matrix.reset() }
    }

    /// Cold start: every prompt token's row gets the model's top-k after it.
    public func observePrompt(tokens: [Int32], candidates: [Int32]) {
        for (i, token) in tokens.enumerated() { matrix.replaceRow(of: token, with: candidates[(i * k)..<((i + 1) * k)]) }
    }

    /// A tree read from the matrix: the fixed template's nodes, or with `.auto` the nodes the
    /// hit rates and the cost curve make worth verifying.
    public func draft(root: Int32, context: [Int32]) -> DraftTree {
        switch shape {
        case let .fixed(template):
            var tree = DraftTree(root: root)
            for (path, parent) in zip(template.paths, template.parents) {
                let token = tree.tokens[parent], rank = path[path.count - 1]
                tree.add(matrix.candidate(after: token, rank: rank), parent: parent, source: .recycled(rowOf: token, rank: rank))
            }
            return tree
        case .auto:
            let (tree, choice) = auto.draft(root: root, matrix: matrix, costs: costs, context: context.count)
            lastChoice = choice
            return tree
        }
    }

    /// The rows the last `observe` rewrote, as they were and as they are.
    public var lastRewrites: [RowRewrite] { rewriteLog.rewrites(in: matrix) }
    /// How the last auto tree was sized; nil with a fixed template.
    public var lastSizing: TreeSizing? { lastChoice?.sizing(costs: costs, hitRates: auto.rates) }

    /// Overwrites the row of every verified node's token with its top-`k`; with `.auto`, first
    /// times the pass and records each produced token's rank.
    public func observe(_ v: Verification) {
        if shape == .auto {
            costs.record(nodes: v.tree.count, seconds: v.seconds, context: v.context)
            // Where each produced token stood in its predecessor's row, before this update.
            for (j, token) in v.produced.enumerated() {
                auto.record(rank: matrix.rank(of: token, after: v.tree.tokens[v.acceptedPath[j]]))
            }
        }
        rewriteLog.record(v.tree.tokens, in: matrix)
        for (i, token) in v.tree.tokens.enumerated() {
            matrix.replaceRow(of: token, with: v.candidates(ofNode: i))
        }
    }
}
