/// Token Recycling's memory: for every token of the vocabulary, the top-`k` tokens the model
/// last predicted after it, best first (zeros until the token is seen).
public final class AdjacencyMatrix: PersistentState {
    /// Candidates per row.
    public let k: Int
    /// Number of rows: one per token of the vocabulary.
    public let vocabularySize: Int
    /// `vocabularySize` rows of `k` token ids.
    public private(set) var values: [Int32]

    /// An all-zero matrix; `k` must be in `1...vocabularySize`.
    public init(vocabularySize: Int, k: Int) {
        precondition(k >= 1 && k <= vocabularySize, "a row of k candidates needs k distinct tokens")
        self.k = k
        self.vocabularySize = vocabularySize
        values = [Int32](repeating: 0, count: vocabularySize * k)
    }

    /// The candidate of rank `rank` after `token`.
    @inline(__always)
    public func candidate(after token: Int32, rank: Int) -> Int32 { values[Int(token) * k + rank] }

    /// The rank of `candidate` in `token`'s row, or nil if it is not there.
    public func rank(of candidate: Int32, after token: Int32) -> Int? {
        let row = Int(token) * k
        return values[row..<(row + k)].firstIndex(of: candidate).map { $0 - row }
    }

    /// Overwrites `token`'s row with `candidates` (best first).
    public func replaceRow(of token: Int32, with candidates: ArraySlice<Int32>) {
        precondition(candidates.count == k)
        let row = Int(token) * k
        values.replaceSubrange(row..<(row + k), with: candidates)
    }

    /// Forgets everything (a cold start).
    public func reset() { values.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }

    /// Replaces every row; ids must be in the vocabulary.
    public func load(_ rows: [Int32]) {
        precondition(rows.count == values.count && rows.allSatisfy { $0 >= 0 && Int($0) < vocabularySize })
        values = rows
    }

    public var name: String { "matrix" }
    public var scope: PersistentScope { .model }
    public var variant: String { "k\(k)" }
    public var fileExtension: String { "bin" }
    public func encoded() -> [UInt8] { MatrixFile.encode(values, k: k, vocabularySize: vocabularySize) }

    public func restore(from bytes: [UInt8], source: String) throws(PersistentStateError) {
        do { values = try MatrixFile.decode(bytes, source: source, vocabularySize: vocabularySize, k: k) } catch {
            throw PersistentStateError(error.description)
        }
    }
}
