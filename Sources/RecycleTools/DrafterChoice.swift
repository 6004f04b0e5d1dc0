import RecycleDecoding

/// A drafter as named on a command line (`--drafter`, `--tree`, `-k`, `--start`), shared by
/// the `recycle` CLI and the benchmarks.
public struct DrafterChoice: Sendable {
    /// The `--drafter` values.
    public enum Kind: String, Sendable, CaseIterable {
        /// Plain decoding, Token Recycling, prompt lookup, suffix matching, and a suffix spine
        /// with recycled branches (`HybridDrafter`).
        case none, recycle, pld, suffix, hybrid

        /// Whether it keeps a Token Recycling matrix (so `-k` and `--start` apply).
        public var recycles: Bool { self == .recycle || self == .hybrid }
    }

    /// Which drafter.
    public var kind: Kind = .none
    /// "auto", a built-in template name or a JSON file (recycle only; hybrid is always auto).
    public var tree = "auto"
    /// Candidates per matrix row (recycle and hybrid only).
    public var k = 8
    /// Hot or cold start of the matrix (recycle and hybrid only).
    public var start: TokenRecycler.Start = .hot
    /// Longest PLD draft.
    public var draftLength = 8

    /// Plain decoding, with every option at its default.
    public init() {}

    /// Parses command-line values (nil: not given). `tree` belongs to `recycle`, `k` and `start`
    /// to `recycle` and `hybrid`; they are refused with other drafters, so a typo never goes
    /// unnoticed.
    public init(kind: String?, tree: String?, k: Int?, start: String?, defaultKind: Kind) throws(UsageError) {
        self.kind = defaultKind
        if let kind {
            guard let parsed = Kind(rawValue: kind) else {
                throw UsageError("--drafter must be one of \(Kind.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(kind)\"")
            }
            self.kind = parsed
        }
        if self.kind != .recycle, tree != nil { throw UsageError("--tree needs --drafter recycle") }
        if !self.kind.recycles, let flag = [("-k", k != nil), ("--start", start != nil)].first(where: \.1) {
            throw UsageError("\(flag.0) needs --drafter recycle or hybrid")
        }
        if let tree { self.tree = tree }
        if let k { self.k = k }
        if let start {
            guard let parsed = TokenRecycler.Start(rawValue: start) else { throw UsageError("--start must be hot or cold, got \"\(start)\"") }
            self.start = parsed
        }
    }

    /// A bad drafter option, with the message to show.
    public struct UsageError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Builds the drafter for a model with `vocabularySize` tokens.
    public func make(vocabularySize: Int) throws(UsageError) -> Drafter {
        switch kind {
        case .none: return NoDrafter()
        case .pld: return PromptLookup(draftLength: draftLength)
        case .suffix: return SuffixDrafter()
        case .recycle, .hybrid:
            // A row holds k distinct tokens: a vocabulary smaller than k cannot fill one.
            guard k <= vocabularySize else {
                throw UsageError("-k \(k) is more than the model's \(vocabularySize) tokens; use at most \(vocabularySize)")
            }
            if kind == .hybrid { return HybridDrafter(vocabularySize: vocabularySize, k: k, start: start) }
            let shape: TreeShape
            do { shape = try TreeShape.named(tree, k: k) } catch { throw UsageError(error.description) }
            return TokenRecycler(vocabularySize: vocabularySize, k: k, shape: shape, start: start)
        }
    }
}
