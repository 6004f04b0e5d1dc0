/// A tree of drafted tokens to verify in one forward pass.
///
/// Node 0 is the root: the last token already chosen but not yet in the KV cache. Every
/// other node is a guess at what follows its parent. Parents come before their children.
public struct DraftTree: Sendable, Equatable {
    /// Each node's token; `tokens[0]` is the root.
    public private(set) var tokens: [Int32]
    /// Each node's parent index, smaller than its own; -1 for the root.
    public private(set) var parents: [Int]
    /// Where each node's guess came from (the root's is empty), for traces.
    public private(set) var sources: [DraftSource]

    /// A tree of the root alone (plain decoding's step).
    public init(root: Int32) {
        tokens = [root]
        parents = [-1]
        sources = [DraftSource()]
    }

    /// Number of nodes, the root included.
    public var count: Int { tokens.count }

    /// Adds `token` as a child of node `parent` and returns the new node's index.
    @discardableResult
    public mutating func add(_ token: Int32, parent: Int, source: DraftSource = DraftSource()) -> Int {
        precondition(parent >= 0 && parent < tokens.count, "a parent must already be in the tree")
        tokens.append(token)
        parents.append(parent)
        sources.append(source)
        return tokens.count - 1
    }

    /// Records that node `node`'s token was proposed by `source` too.
    mutating func addSource(_ source: DraftSource, to node: Int) {
        sources[node] = sources[node].merged(with: source)
    }

    /// The depth of every node (the root's is 0).
    public var depths: [Int] {
        var depths = [0]
        for i in 1..<max(count, 1) { depths.append(depths[parents[i]] + 1) }
        return depths
    }

    /// The first `count` nodes (still a tree: parents come first).
    public func prefix(_ count: Int) -> DraftTree {
        var t = self
        t.tokens.removeLast(tokens.count - count)
        t.parents.removeLast(parents.count - count)
        t.sources.removeLast(sources.count - count)
        return t
    }
}

/// What one verification pass found, told back to the drafter.
public struct Verification: Sendable {
    /// The tree that was verified.
    public let tree: DraftTree
    /// Node indices of the accepted path, root first: the root plus every drafted token that
    /// matched the model's own choice.
    public let acceptedPath: [Int]
    /// The tokens the step produced: the accepted drafts, then the model's next token.
    public let produced: [Int32]
    /// The model's top candidates after each node, best first: `candidatesPerNode` ids per
    /// node, node by node (empty if the drafter asked for none).
    public let candidates: [Int32]
    /// Ids per node in `candidates`: the drafter's `candidatesPerNode` (0: none).
    public let candidatesPerNode: Int
    /// Tokens in the KV cache before the pass (the context the tree was verified on).
    public let context: Int
    /// Wall seconds of the verification pass: what a pass of `tree.count` nodes costs now.
    public let seconds: Double

    /// The outcome of verifying `tree`; `candidates` must hold `candidatesPerNode` ids a node.
    public init(tree: DraftTree, acceptedPath: [Int], produced: [Int32], candidates: [Int32], candidatesPerNode: Int,
                context: Int = 0, seconds: Double = 0) {
        precondition(candidates.count == tree.count * candidatesPerNode)
        self.context = context
        self.seconds = seconds
        self.tree = tree
        self.acceptedPath = acceptedPath
        self.produced = produced
        self.candidates = candidates
        self.candidatesPerNode = candidatesPerNode
    }

    /// The model's top candidates after node `i`, best first.
    public func candidates(ofNode i: Int) -> ArraySlice<Int32> {
        candidates[(i * candidatesPerNode)..<((i + 1) * candidatesPerNode)]
    }
}

/// A source of draft trees for speculative decoding.
///
/// The decoding loop asks for a tree rooted at the last chosen token, verifies every node in
/// one forward pass, walks down the tree along the model's own choices (greedy, or sampled
/// with the same random stream as plain sampling), and reports the outcome with `observe`.
/// Whatever a drafter proposes, the output equals plain decoding: drafts only decide how
/// many tokens one pass can confirm.
///
/// Everything beyond drafting is reached through the hooks below, each with a default that
/// does nothing, so the generator and the front ends never ask which drafter they hold.
public protocol Drafter: AnyObject {
    /// Short name for reports ("none", "recycle", "pld", "suffix", "hybrid").
    var name: String { get }
    /// Whether it ever proposes a token; false only for plain decoding, whose reports then
    /// leave out drafting statistics.
    var drafts: Bool { get }
    /// Settings a report should name besides `name` (a tree shape, a start), in order.
    var settings: [(name: String, value: String)] { get }
    /// How many top candidates of every verified node the drafter wants in `observe` (0: none).
    var candidatesPerNode: Int { get }
    /// Whether `observePrompt` should see the prompt's own candidates. The prefill then
    /// computes every prompt token's logits instead of the last one's (a cold start's seeding).
    var learnsFromPrompt: Bool { get }
    /// Called before each new generation with the whole token context so far.
    func begin(context: [Int32])
    /// The top-`candidatesPerNode` candidates after each of `tokens` (prompt tokens, in
    /// order, chunk by chunk), when `learnsFromPrompt`.
    func observePrompt(tokens: [Int32], candidates: [Int32])
    /// The tree to verify next. `context` ends with `root`.
    func draft(root: Int32, context: [Int32]) -> DraftTree
    /// The result of verifying the last tree.
    func observe(_ verification: Verification)
    /// What the drafter learns that is worth keeping after the process ends (a matrix, a
    /// cost curve), for a state cache or `--matrix` to save and restore.
    var persistentState: [any PersistentState] { get }
    /// The matrix rows the last `observe` rewrote, for a trace (read before the next one).
    var lastRewrites: [RowRewrite] { get }
    /// How the last tree's size was chosen, for a trace (read before the next `observe`);
    /// nil when the size is fixed.
    var lastSizing: TreeSizing? { get }
}

extension Drafter {
    /// Default: true.
    public var drafts: Bool { true }
    /// Default: none.
    public var settings: [(name: String, value: String)] { [] }
    /// Default: false, so the prefill computes only the last token's logits.
    public var learnsFromPrompt: Bool { false }
    /// Default: ignores the prompt.
    public func observePrompt(tokens: [Int32], candidates: [Int32]) {}
    /// Default: nothing worth keeping.
    public var persistentState: [any PersistentState] { [] }
    /// Default: no matrix, so no rewrites.
    public var lastRewrites: [RowRewrite] { [] }
    /// Default: nil, a fixed size.
    public var lastSizing: TreeSizing? { nil }
}

/// Plain decoding: never drafts, so every pass confirms exactly one token.
public final class NoDrafter: Drafter {
    /// Plain decoding; holds no state.
    public init() {}
    /// "none".
    public var name: String { "none" }
    /// False: reports leave out drafting statistics.
    public var drafts: Bool { false }
    /// 0: it learns nothing from verification.
    public var candidatesPerNode: Int { 0 }
    /// Does nothing.
    public func begin(context: [Int32]) {}
    /// The root alone.
    public func draft(root: Int32, context: [Int32]) -> DraftTree { DraftTree(root: root) }
    /// Does nothing.
    public func observe(_ verification: Verification) {}
}
