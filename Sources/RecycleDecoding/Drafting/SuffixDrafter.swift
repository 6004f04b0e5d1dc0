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
    public let costs: CostCurve
    private var lastChoice: SizeChoice?

    public init(costs: CostCurve = CostCurve()) { self.costs = costs }

    public var name: String { "suffix" }
    public var candidatesPerNode: Int { 0 }
    public var persistentState: [any PersistentState] { [costs] }

    public func begin(context: [Int32]) { spine.begin(context: context) }

    public func draft(root: Int32, context: [Int32]) -> DraftTree {
        spine.catchUp(with: context)
        var tree = CandidateTree(root: root)
        _ = spine.addSpine(to: &tree)
        let (draft, choice) = tree.best(costs: costs, context: context.count, margin: AutoTree.margin)
        lastChoice = choice
        return draft
    }

    public var lastSizing: TreeSizing? { lastChoice?.sizing(costs: costs, hitRates: nil) }

    public func observe(_ verification: Verification) {
        costs.record(nodes: verification.tree.count, seconds: verification.seconds, context: verification.context)
        spine.observe(produced: verification.produced)
    }
}
