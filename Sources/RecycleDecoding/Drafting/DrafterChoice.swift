/// A drafter as named on a command line (`--drafter`, `--tree`, `-k`, `--start`), shared by
/// the `recycle` CLI and the benchmarks.
public struct DrafterChoice: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case none, recycle, pld
    }

    public var kind: Kind = .none
    /// "auto", a built-in template name or a JSON file (recycle only).
    public var tree = "auto"
    public var k = 8
    public var start: TokenRecycler.Start = .hot
    /// Longest PLD draft.
    public var draftLength = 8

    public init() {}

    /// Builds the drafter for a model with `vocabularySize` tokens.
    public func make(vocabularySize: Int) throws(TreeTemplate.Error) -> Drafter {
        switch kind {
        case .none: NoDrafter()
        case .pld: PromptLookup(draftLength: draftLength)
        case .recycle:
            TokenRecycler(vocabularySize: vocabularySize, k: k,
                          template: tree == "auto" ? nil : try TreeTemplate.named(tree, k: k), start: start)
        }
    }
}
