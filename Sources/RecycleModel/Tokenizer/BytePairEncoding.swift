/// Byte-level BPE (GPT-2 style), as used by SmolLM2: the pre-tokenizer splits text into
/// pieces, each piece's UTF-8 bytes become byte tokens, and merges are applied by rank.
struct BytePairEncoder: Sendable {
    private let preTokenizer: PreTokenizer
    /// The token of each single byte, where BPE starts; -1 if the vocabulary lacks it
    /// (SmolLM2 lacks 21, such as 0x04 and the 0xF1 lead byte).
    private let byteTokenIDs: [Int32]
    private let mergeTable: MergeTable

    /// Buffers reused across the segments of one `encode` call.
    struct Scratch {
        var symbols: [Int32] = []
        var merger = PieceMerger()
    }

    init(preTokenizer: PreTokenizer, merges: [String], tokens: TokenTextIndex) throws(TokenizerError) {
        self.preTokenizer = preTokenizer
        byteTokenIDs = ByteLevel.scalarForByte.map { tokens.id(of: String($0)) ?? -1 }
        mergeTable = try MergeTable(rules: merges, tokens: tokens)
    }

    /// Appends the ids of text that holds no special tokens.
    func encode(_ scalars: ArraySlice<Unicode.Scalar>, into ids: inout [Int32], scratch: inout Scratch) {
        preTokenizer.forEachPiece(in: scalars) { piece in
            scratch.symbols.removeAll(keepingCapacity: true)
            for scalar in scalars[piece] {
                UTF8.encode(scalar) { byte in
                    // A byte without a token is dropped before merging, as Hugging Face
                    // tokenizers do (SmolLM2's BPE model has no unknown token). The spec's
                    // `unk_id` is <|endoftext|>, a document separator: emitting it would
                    // mislead the model.
                    let id = byteTokenIDs[Int(byte)]
                    if id >= 0 { scratch.symbols.append(id) }
                }
            }
            scratch.merger.merge(&scratch.symbols, using: mergeTable)
            ids.append(contentsOf: scratch.symbols)
        }
    }

    /// Maps byte-level text back to bytes; a scalar outside the alphabet (only in
    /// malformed vocabularies) stands for its own UTF-8.
    static func appendBytes(ofByteLevelText text: String, to bytes: inout [UInt8]) {
        for scalar in text.unicodeScalars {
            if let byte = ByteLevel.byte(for: scalar) {
                bytes.append(byte)
            } else {
                UTF8.encode(scalar) { bytes.append($0) }
            }
        }
    }
}

/// BPE merge rules keyed by pairs of token ids, so that encoding never hashes strings.
struct MergeTable: Sendable {
    struct Merge: Sendable {
        /// Priority: lower ranks merge first.
        var rank: Int32
        /// The token the two symbols become.
        var result: Int32
    }

    private var merges: [UInt64: Merge] = [:]

    /// Resolves `rules` ("left right", rank = index) against the vocabulary.
    ///
    /// A rule whose parts or result is not a token is skipped: Hugging Face refuses such
    /// files, and skipping gives the same result on every file it accepts. When a pair
    /// appears twice, the first (higher priority) rule wins.
    init(rules: [String], tokens: TokenTextIndex) throws(TokenizerError) {
        merges.reserveCapacity(rules.count)
        for (rank, rule) in rules.enumerated() {
            var utf8 = rule
            switch utf8.withUTF8({ Self.resolve($0, tokens) }) {
            case .malformed:
                throw .malformedMerge(rank: rank, rule: rule)
            case .outsideVocabulary:
                continue
            case .merge(let left, let right, let result):
                let key = Self.key(left, right)
                if merges[key] == nil {
                    merges[key] = Merge(rank: Int32(rank), result: result)
                }
            }
        }
    }

    private enum Resolution {
        case malformed
        case outsideVocabulary
        case merge(left: Int32, right: Int32, result: Int32)
    }

    private static func resolve(_ rule: UnsafeBufferPointer<UInt8>, _ tokens: TokenTextIndex) -> Resolution {
        let space = UInt8(ascii: " ")
        guard let split = rule.firstIndex(of: space), split > 0, split < rule.count - 1,
              rule.lastIndex(of: space) == split
        else { return .malformed }
        let left = UnsafeBufferPointer(rebasing: rule[..<split])
        let right = UnsafeBufferPointer(rebasing: rule[(split + 1)...])
        guard let leftID = tokens.id(of: left, followedBy: .empty),
              let rightID = tokens.id(of: right, followedBy: .empty),
              let resultID = tokens.id(of: left, followedBy: right)
        else { return .outsideVocabulary }
        return .merge(left: leftID, right: rightID, result: resultID)
    }

    func merge(_ left: Int32, _ right: Int32) -> Merge? {
        merges[Self.key(left, right)]
    }

    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }
}

/// Applies merges to the symbols of one piece: repeatedly the lowest-rank adjacent pair,
/// the leftmost among equals, as Hugging Face tokenizers and llama.cpp do.
///
/// Symbols form a linked list and candidate pairs wait in a min-heap, so a long piece
/// (a run of spaces, a base64 blob) costs O(n log n) rather than O(n²). The buffers are
/// kept between pieces to avoid allocating for every word.
struct PieceMerger {
    private var next: [Int] = []
    private var previous: [Int] = []
    /// Candidate merges, each `rank << 32 | left symbol index`: ordering the packed
    /// integers orders by rank, then position.
    private var candidates = MinHeap()

    /// Marks a symbol absorbed by its left neighbour.
    private static let absorbed = Int32.min

    /// Replaces `symbols` (token ids of a piece's bytes) by their merged token ids.
    mutating func merge(_ symbols: inout [Int32], using table: MergeTable) {
        guard symbols.count > 1 else { return }
        let count = symbols.count
        next.removeAll(keepingCapacity: true)
        next.append(contentsOf: 1...count)
        previous.removeAll(keepingCapacity: true)
        previous.append(contentsOf: -1..<(count - 1))
        for index in 0..<(count - 1) {
            if let merge = table.merge(symbols[index], symbols[index + 1]) {
                candidates.insert(Self.candidate(rank: merge.rank, left: index))
            }
        }
        while let candidate = candidates.popMin() {
            let left = Int(candidate & 0xFFFF_FFFF)
            let right = next[left]
            // Stale if `left` was absorbed or either symbol changed since it was queued;
            // ranks are unique per pair, so an equal rank means the same pair.
            guard symbols[left] != Self.absorbed, right < count,
                  let merge = table.merge(symbols[left], symbols[right]),
                  merge.rank == Int32(candidate >> 32)
            else { continue }
            symbols[left] = merge.result
            symbols[right] = Self.absorbed
            next[left] = next[right]
            if next[left] < count { previous[next[left]] = left }
            if previous[left] >= 0, let before = table.merge(symbols[previous[left]], merge.result) {
                candidates.insert(Self.candidate(rank: before.rank, left: previous[left]))
            }
            if next[left] < count, let after = table.merge(merge.result, symbols[next[left]]) {
                candidates.insert(Self.candidate(rank: after.rank, left: left))
            }
        }
        symbols.removeAll { $0 == Self.absorbed }
    }

    private static func candidate(rank: Int32, left: Int) -> UInt64 {
        UInt64(UInt32(rank)) << 32 | UInt64(left)
    }
}
