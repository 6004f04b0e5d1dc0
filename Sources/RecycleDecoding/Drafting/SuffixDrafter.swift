/// Suffix-match drafting (as in SuffixDecoding, arXiv 2411.04975, and SAM-Decoding): the
/// continuation of the longest earlier match of the context's end, found in a suffix index
/// of everything this process has seen, drafted as one chain as deep as the match's record
/// and the measured cost of a pass make worth it.
///
/// Unlike prompt lookup, which scans the context backwards at every step, the index makes a
/// draft cost the same on a 4096-token context as on a 256-token one; and earlier prompts
/// and answers stay searchable, so a repeated task finds its own past.
public final class SuffixDrafter: Drafter {
    private var spine = SuffixSpine()
    /// What a pass costs, measured from every verification; it sizes the chain.
    public let costs: CostCurve
    private var lastChoice: SizeChoice?

    /// An empty index; chains are sized with `costs` (a restored curve, or a new one).
    public init(costs: CostCurve = CostCurve()) { self.costs = costs }

    /// "suffix".
    public var name: String { "suffix" }
    /// 0: it needs no candidates, only the produced tokens.
    public var candidatesPerNode: Int { 0 }
    /// The cost curve (the index is rebuilt by each process).
    public var persistentState: [any PersistentState] { [costs] }

    /// Continues the index's current document when `context` extends it, else starts a new one.
    public func begin(context: [Int32]) { spine.begin(context: context) }

    /// The continuation of the longest earlier match of the context's end, as one chain cut to
    /// the depth its record and the cost curve make worth verifying.
    public func draft(root: Int32, context: [Int32]) -> DraftTree {
        spine.catchUp(with: context)
        var tree = CandidateTree(root: root)
        _ = spine.addSpine(to: &tree)
        let (draft, choice) = tree.best(costs: costs, context: context.count, margin: AutoTree.margin)
        lastChoice = choice
        return draft
    }

    /// How the last chain's length was chosen.
    public var lastSizing: TreeSizing? { lastChoice?.sizing(costs: costs, hitRates: nil) }

    /// Times the pass into the cost curve and records how far the spine was right.
    public func observe(_ verification: Verification) {
        costs.record(nodes: verification.tree.count, seconds: verification.seconds, context: verification.context)
        spine.observe(produced: verification.produced)
    }
}
