/// One decoding step, as `Generator.generate` reports it to an `onStep` observer (a trace, a
/// live view): the tree, what the model chose on it, and what the drafter made of it.
public struct StepReport: Sendable {
    /// The tree verified, root first, with where each guess came from.
    public let tree: DraftTree
    /// Tokens in the KV cache before the pass.
    public let context: Int
    /// Node ids of the accepted path, root first.
    public let acceptedPath: [Int]
    /// The model's own next token at each node of the accepted path: the accepted drafts,
    /// then the token where the walk stopped.
    public let choices: [Int32]
    /// The tokens emitted: `choices`, cut short where the generation stopped.
    public let produced: [Int32]
    /// The matrix rows the drafter rewrote after the pass.
    public let rewrites: [RowRewrite]
    /// How the drafter sized the tree, if it sizes it adaptively.
    public let sizing: TreeSizing?
    /// Wall seconds the drafter took to propose the tree.
    public let draftSeconds: Double
    /// Wall seconds of the verification pass.
    public let passSeconds: Double
}
