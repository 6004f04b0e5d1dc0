/// Finds token ids by the UTF-8 bytes of their vocabulary text.
///
/// Used instead of `[String: Int32]` for two reasons: String hashing normalizes Unicode,
/// which made building the merge table several times slower (byte-level texts are mostly
/// non-ASCII), and it treats canonically equivalent texts as equal, whereas token texts
/// must match byte for byte. Lookups also take a text in two parts, so resolving a merge
/// rule needs no string concatenation.
struct TokenTextIndex: Sendable {
    /// Every token's text, concatenated; token `id`'s is `texts[offsets[id]..<offsets[id + 1]]`.
    private var texts: [UInt8] = []
    private var offsets: [Int] = [0]
    /// Open addressing with linear probing, at most half full; -1 marks an empty slot.
    private var slots: [Int32]

    /// Indexes `tokens` by text; of duplicate texts, the lowest id is found.
    init(tokens: [String]) {
        var capacity = 16
        while capacity < 2 * tokens.count { capacity *= 2 }
        slots = Array(repeating: -1, count: capacity)
        texts.reserveCapacity(8 * tokens.count)
        offsets.reserveCapacity(tokens.count + 1)
        for (id, token) in tokens.enumerated() {
            var token = token
            let slot = token.withUTF8 { text -> Int in self.slot(for: text, .empty) }
            if slots[slot] < 0 {
                slots[slot] = Int32(id)
            }
            texts.append(contentsOf: token.utf8)
            offsets.append(texts.count)
        }
    }

    /// The id of the token whose text is `text`.
    func id(of text: String) -> Int32? {
        var text = text
        return text.withUTF8 { id(of: $0, followedBy: .empty) }
    }

    /// The id of the token whose text is `prefix` followed by `suffix`.
    func id(of prefix: UnsafeBufferPointer<UInt8>, followedBy suffix: UnsafeBufferPointer<UInt8>) -> Int32? {
        let id = slots[slot(for: prefix, suffix)]
        return id < 0 ? nil : id
    }

    /// The slot that holds the text `prefix + suffix`, or the empty slot where it belongs.
    private func slot(for prefix: UnsafeBufferPointer<UInt8>, _ suffix: UnsafeBufferPointer<UInt8>) -> Int {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: Self.hash(prefix, suffix)) & mask
        while slots[slot] >= 0 && !storedText(of: Int(slots[slot]), equals: prefix, suffix) {
            slot = (slot + 1) & mask
        }
        return slot
    }

    private func storedText(
        of id: Int, equals prefix: UnsafeBufferPointer<UInt8>, _ suffix: UnsafeBufferPointer<UInt8>
    ) -> Bool {
        let start = offsets[id]
        guard offsets[id + 1] - start == prefix.count + suffix.count else { return false }
        return texts[start..<(start + prefix.count)].elementsEqual(prefix)
            && texts[(start + prefix.count)..<offsets[id + 1]].elementsEqual(suffix)
    }

    /// FNV-1a: simple, and good enough for short texts.
    private static func hash(_ prefix: UnsafeBufferPointer<UInt8>, _ suffix: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in prefix {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
        }
        for byte in suffix {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
        }
        return hash ^ (hash >> 32)  // the slot is taken from the low bits: mix in the high ones
    }
}

extension UnsafeBufferPointer<UInt8> {
    static var empty: Self { Self(start: nil, count: 0) }
}
