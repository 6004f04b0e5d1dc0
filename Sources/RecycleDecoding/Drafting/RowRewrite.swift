/// A matrix row that one verification pass rewrote, for traces: Token Recycling's learning,
/// made visible.
public struct RowRewrite: Sendable, Equatable {
    /// The token whose row it is.
    public let token: Int32
    /// The row before the pass, and as the pass left it (best first).
    public let before: [Int32]
    /// The row as the pass left it.
    public let after: [Int32]
    /// How many tree nodes wrote it (the same token at several nodes): above one, `after` is
    /// what the last of them left.
    public let writes: Int

    /// A rewrite of `token`'s row from `before` to `after` by `writes` nodes.
    public init(token: Int32, before: [Int32], after: [Int32], writes: Int) {
        self.token = token
        self.before = before
        self.after = after
        self.writes = writes
    }
}

/// The rows `observe` is about to overwrite, as they were, so that a trace can show each
/// rewrite. Copying a row is what overwriting it costs anyway, and the buffers are reused, so
/// keeping this costs about nothing when no trace asks.
struct RewriteLog {
    private var tokens: [Int32] = []
    private var before: [Int32] = []

    /// Call before the rows of `tokens` (a tree's, in node order) are overwritten.
    mutating func record(_ tokens: [Int32], in matrix: AdjacencyMatrix) {
        self.tokens.removeAll(keepingCapacity: true)
        before.removeAll(keepingCapacity: true)
        self.tokens += tokens
        for token in tokens {
            for r in 0..<matrix.k { before.append(matrix.candidate(after: token, rank: r)) }
        }
    }

    /// Each rewritten row once, in the order of its first write, with the matrix as it is now.
    func rewrites(in matrix: AdjacencyMatrix) -> [RowRewrite] {
        let k = matrix.k
        var first: [Int32: Int] = [:], writes: [Int32: Int] = [:]
        for (i, token) in tokens.enumerated() {
            if first[token] == nil { first[token] = i }
            writes[token, default: 0] += 1
        }
        return tokens.enumerated().filter { first[$0.element] == $0.offset }.map { i, token in
            RowRewrite(token: token, before: Array(before[(i * k)..<((i + 1) * k)]),
                       after: (0..<k).map { matrix.candidate(after: token, rank: $0) }, writes: writes[token]!)
        }
    }
}
