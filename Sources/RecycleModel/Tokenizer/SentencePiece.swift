/// SentencePiece BPE with byte fallback, as Gemma 3 uses it and llama.cpp implements it
/// (`llm_tokenizer_spm`).
///
/// Spaces become "▁" (U+2581) and the text is split into characters; then, repeatedly,
/// the adjacent pair whose concatenation is the highest-scoring token merges (the leftmost
/// among equals). A character that is no token becomes the `<0xXX>` tokens of its UTF-8
/// bytes. Unlike GPT-2's BPE there are no merge rules and no pre-tokenizer: the scores
/// decide, and merges may cross words (Gemma has tokens such as "▁of▁the").
struct SentencePieceEncoder: Sendable {
    private let tokens: TokenTextIndex
    /// Each token's merge priority (lower merges first), from its score; `notAPiece` for
    /// tokens that are not normal text (control, user-defined, byte, unused), so that
    /// merging never forms them: "<pad>" typed in a message stays text.
    private let priorities: [UInt32]
    /// The `<0xXX>` token of each byte; for a missing one, the unknown token, or -1 (the
    /// byte is dropped) if the spec names none.
    private let byteFallbackIDs: [Int32]

    /// No finite score maps to this priority (it is a NaN's).
    private static let notAPiece = UInt32.max

    /// Buffers reused across the segments of one `encode` call.
    struct Scratch {
        /// The segment's UTF-8, spaces written as "▁".
        var bytes: [UInt8] = []
        /// Symbol `i` covers `bytes[starts[i]..<starts[next[i]]]`; `starts[count]` is the end.
        var starts: [Int] = []
        var next: [Int] = []
        var previous: [Int] = []
        /// Each symbol's token, -1 for a character with none, `absorbed` once merged away.
        var symbols: [Int32] = []
        /// Candidate merges, each `priority << 32 | left symbol index`.
        var candidates = MinHeap()
    }

    private static let absorbed = Int32.min

    /// - Parameters:
    ///   - scores: one per token, already checked to be finite.
    ///   - types: GGUF token types, one per token; only normal tokens (1) are pieces.
    init(tokens: TokenTextIndex, types: [Int], scores: [Float], unknownID: Int32?) {
        self.tokens = tokens
        priorities = zip(types, scores).map { type, score in
            type == 1 ? Self.priority(score) : Self.notAPiece
        }
        byteFallbackIDs = (0...255).map { (byte: Int) -> Int32 in
            let hex = Array("0123456789ABCDEF")
            let text = "<0x\(hex[byte >> 4])\(hex[byte & 15])>"
            if let id = tokens.id(of: text), types[Int(id)] == 6 { return id }
            return unknownID ?? -1
        }
    }

    /// Orders scores from highest to lowest as unsigned integers: the float's bits made
    /// monotonic, then complemented. -0 counts as 0, as in a float comparison.
    private static func priority(_ score: Float) -> UInt32 {
        let bits = (score == 0 ? 0 : score).bitPattern
        let ascending = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
        return ~ascending
    }

    /// Appends the ids of text that holds no special tokens.
    func encode(_ scalars: ArraySlice<Unicode.Scalar>, into ids: inout [Int32], scratch: inout Scratch) {
        guard !scalars.isEmpty else { return }
        scratch.bytes.removeAll(keepingCapacity: true)
        scratch.starts.removeAll(keepingCapacity: true)
        for scalar in scalars {
            scratch.starts.append(scratch.bytes.count)
            if scalar == " " {
                scratch.bytes += [0xE2, 0x96, 0x81]
            } else {
                UTF8.encode(scalar) { scratch.bytes.append($0) }
            }
        }
        let count = scalars.count
        scratch.starts.append(scratch.bytes.count)
        scratch.bytes.withUnsafeBufferPointer { bytes in
            merge(count: count, bytes: bytes, scratch: &scratch)
        }
        var index = 0
        while index < count {
            let id = scratch.symbols[index]
            if id >= 0 {
                ids.append(id)
            } else {
                // Only a single character can lack a token: every merge makes a token.
                for byte in scratch.bytes[scratch.starts[index]..<scratch.starts[scratch.next[index]]] {
                    let fallback = byteFallbackIDs[Int(byte)]
                    if fallback >= 0 { ids.append(fallback) }
                }
            }
            index = scratch.next[index]
        }
    }

    /// Merges the `count` character symbols of `bytes` into tokens, leaving the survivors
    /// linked by `scratch.next` from symbol 0. Stale candidates (a symbol absorbed or grown
    /// since) are recognised when popped, as llama.cpp does, rather than removed.
    private func merge(count: Int, bytes: UnsafeBufferPointer<UInt8>, scratch: inout Scratch) {
        scratch.next.removeAll(keepingCapacity: true)
        scratch.next.append(contentsOf: 1...count)
        scratch.previous.removeAll(keepingCapacity: true)
        scratch.previous.append(contentsOf: -1..<(count - 1))
        scratch.symbols.removeAll(keepingCapacity: true)
        for index in 0..<count {
            scratch.symbols.append(piece(bytes, scratch.starts[index], scratch.starts[index + 1]) ?? -1)
        }
        for left in 0..<(count - 1) {
            queuePair(left: left, bytes: bytes, scratch: &scratch)
        }
        while let candidate = scratch.candidates.popMin() {
            let left = Int(candidate & 0xFFFF_FFFF)
            guard scratch.symbols[left] != Self.absorbed else { continue }
            let right = scratch.next[left]
            guard right < count,
                  let merged = piece(bytes, scratch.starts[left], scratch.starts[scratch.next[right]]),
                  priorities[Int(merged)] == UInt32(candidate >> 32)
            else { continue }
            // A queued pair whose symbols changed since has another text, hence (scores
            // being per token) almost always another priority; when the priority is equal,
            // the current pair was queued with the same key, so merging it now keeps the order.
            scratch.symbols[left] = merged
            scratch.symbols[right] = Self.absorbed
            scratch.next[left] = scratch.next[right]
            if scratch.next[left] < count { scratch.previous[scratch.next[left]] = left }
            if scratch.previous[left] >= 0 { queuePair(left: scratch.previous[left], bytes: bytes, scratch: &scratch) }
            if scratch.next[left] < count { queuePair(left: left, bytes: bytes, scratch: &scratch) }
        }
    }

    /// Queues the merge of symbol `left` with its right neighbour, if they make a piece.
    private func queuePair(left: Int, bytes: UnsafeBufferPointer<UInt8>, scratch: inout Scratch) {
        let end = scratch.starts[scratch.next[scratch.next[left]]]
        if let merged = piece(bytes, scratch.starts[left], end) {
            scratch.candidates.insert(UInt64(priorities[Int(merged)]) << 32 | UInt64(left))
        }
    }

    /// The normal token whose text is `bytes[start..<end]`.
    private func piece(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int32? {
        let text = UnsafeBufferPointer(rebasing: bytes[start..<end])
        guard let id = tokens.id(of: text, followedBy: .empty), priorities[Int(id)] != Self.notAPiece else { return nil }
        return id
    }
}
