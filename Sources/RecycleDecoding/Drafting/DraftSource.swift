/// Where a drafted node's guess came from, for traces and teaching: nothing in decoding reads
/// it. A node two sources proposed (a hybrid tree merges them) has both halves.
public struct DraftSource: Sendable, Equatable {
    /// Recycled: the candidate of rank `rank` in the matrix row of token `rowOf`.
    public var rowOf: Int32?
    /// Recycled: the candidate's rank in that row (0 is the best).
    public var rank: Int?
    /// Copied: the token at position `copiedFrom` of the text the drafter searched (prompt
    /// lookup: the context; a suffix index: everything indexed, which for a single generation
    /// is its context), continuing an earlier match of `matchLength` tokens.
    public var copiedFrom: Int?
    /// Copied: the length of the match, in tokens.
    public var matchLength: Int?

    /// Unknown: the root, or a drafter that does not say.
    public init() {}

    /// A recycled guess: the rank-`rank` candidate in `token`'s matrix row.
    public static func recycled(rowOf token: Int32, rank: Int) -> DraftSource {
        var s = DraftSource()
        s.rowOf = token
        s.rank = rank
        return s
    }

    /// A copied guess: the token at `position`, after a match of `matchLength` tokens.
    public static func copied(from position: Int, matchLength: Int) -> DraftSource {
        var s = DraftSource()
        s.copiedFrom = position
        s.matchLength = matchLength
        return s
    }

    /// This source plus whatever `other` says that this one does not.
    func merged(with other: DraftSource) -> DraftSource {
        var s = self
        if s.rowOf == nil { s.rowOf = other.rowOf; s.rank = other.rank }
        if s.copiedFrom == nil { s.copiedFrom = other.copiedFrom; s.matchLength = other.matchLength }
        return s
    }
}
