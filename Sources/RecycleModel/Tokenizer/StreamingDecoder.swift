/// Turns generated token ids into text as they arrive.
///
/// A byte-level token may end in the middle of a UTF-8 character (emoji, CJK and accented
/// letters are often split over tokens). Printing each token's bytes on its own would show
/// U+FFFD pieces, so the incomplete tail is held back until the token that completes it.
public struct StreamingDecoder: Sendable {
    private let tokenizer: Tokenizer
    /// Bytes of a character whose remaining bytes have not arrived yet.
    private var pending: [UInt8] = []

    /// A decoder with nothing held back, turning ids of `tokenizer` into text.
    public init(tokenizer: Tokenizer) {
        self.tokenizer = tokenizer
    }

    /// Adds token `id` and returns the text it completes (possibly empty).
    public mutating func append(_ id: Int32) -> String {
        pending.append(contentsOf: tokenizer.byteSlice(of: id))
        let completeCount = pending.count - Self.incompleteSuffixLength(of: pending)
        guard completeCount > 0 else { return "" }
        let text = String(decoding: pending[..<completeCount], as: UTF8.self)
        pending.removeFirst(completeCount)
        return text
    }

    /// Returns what is still held back, an unfinished character becoming U+FFFD, and
    /// starts afresh.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// The length of the trailing bytes that begin a valid UTF-8 sequence but do not
    /// complete it; 0 if the bytes end on a character boundary or with invalid bytes
    /// (which no later byte could repair).
    static func incompleteSuffixLength(of bytes: [UInt8]) -> Int {
        // A sequence is at most 4 bytes, so an unfinished one starts in the last 3.
        for start in stride(from: bytes.count - 1, through: max(bytes.count - 3, 0), by: -1) {
            let byte = bytes[start]
            if byte & 0xC0 == 0x80 { continue }  // continuation byte: look further back
            let tail = bytes[start...]
            return sequenceLength(lead: byte).map { tail.count < $0 && isValidPrefix(tail) ? tail.count : 0 } ?? 0
        }
        return 0
    }

    /// The length of the sequence a lead byte announces; nil for bytes that cannot lead.
    private static func sequenceLength(lead: UInt8) -> Int? {
        switch lead {
        case 0x00...0x7F: 1
        case 0xC2...0xDF: 2
        case 0xE0...0xEF: 3
        case 0xF0...0xF4: 4
        default: nil
        }
    }

    /// Whether `tail` (a lead byte and continuation bytes) can still become a valid
    /// character: the second byte's range depends on the lead, to exclude overlong
    /// forms, surrogates and scalars above U+10FFFF.
    private static func isValidPrefix(_ tail: ArraySlice<UInt8>) -> Bool {
        let lead = tail[tail.startIndex]
        guard tail.count > 1 else { return true }
        let second = tail[tail.startIndex + 1]
        switch lead {
        case 0xE0: return (0xA0...0xBF).contains(second)
        case 0xED: return (0x80...0x9F).contains(second)
        case 0xF0: return (0x90...0xBF).contains(second)
        case 0xF4: return (0x80...0x8F).contains(second)
        default: return true  // continuation bytes were checked by the caller
        }
    }
}
