/// Byte-level BPE tokenizer (GPT-2 style), as used by SmolLM2.
///
/// Encoding: special tokens are matched literally first (only where the caller allows it, see
/// `PromptPiece`); the text between them is split
/// by the pre-tokenizer, each piece's UTF-8 bytes become byte tokens, and merges are
/// applied by rank. All tables are built once here so that encoding only hashes integers.
public struct Tokenizer: Sendable {
    /// Id of the beginning-of-sequence token (the spec's `bos_id`).
    public let bosID: Int32
    /// Id of the end-of-sequence token (the spec's `eos_id`); generation stops at it.
    public let eosID: Int32
    /// Whether `encode` starts with the BOS token (the spec's `add_bos`).
    public let addsBOS: Bool
    private let preTokenizer: PreTokenizer
    /// Token text (byte-level alphabet) to id; for duplicate texts, the lowest id.
    private let tokenIDs: TokenTextIndex
    /// The decoded bytes of every token, concatenated: one buffer rather than an array
    /// per token keeps construction fast.
    private let tokenBytes: [UInt8]
    /// Token `id`'s bytes are `tokenBytes[tokenByteOffsets[id]..<tokenByteOffsets[id + 1]]`.
    private let tokenByteOffsets: [Int]
    /// The token of each single byte, where BPE starts; -1 if the vocabulary lacks it
    /// (SmolLM2 lacks 21, such as 0x04 and the 0xF1 lead byte).
    private let byteTokenIDs: [Int32]
    private let mergeTable: MergeTable
    private let specialTokens: SpecialTokenMatcher

    /// Number of tokens; valid ids are `0..<vocabularySize`.
    public var vocabularySize: Int { tokenByteOffsets.count - 1 }

    /// Builds the tokenizer from untrusted `spec`, validating it.
    public init(spec: TokenizerSpec) throws(TokenizerError) {
        guard spec.model == "gpt2-bpe" else { throw .unsupportedModel(spec.model) }
        guard let preTokenizer = PreTokenizer(rawValue: spec.preTokenizer) else {
            throw .unsupportedPreTokenizer(spec.preTokenizer)
        }
        let count = spec.tokens.count
        guard count > 0 else { throw .emptyVocabulary }
        guard count <= Int(Int32.max) else { throw .tableTooLarge(table: "tokens", count: count) }
        guard spec.merges.count <= Int(Int32.max) else {
            throw .tableTooLarge(table: "merges", count: spec.merges.count)
        }
        guard spec.tokenTypes.count == count else {
            throw .tokenTypeCountMismatch(tokens: count, tokenTypes: spec.tokenTypes.count)
        }
        if let invalid = spec.tokenTypes.firstIndex(where: { !(0...6).contains($0) }) {
            throw .invalidTokenType(id: invalid, type: spec.tokenTypes[invalid])
        }
        func tokenID(_ name: String, _ id: Int) throws(TokenizerError) -> Int32 {
            guard (0..<count).contains(id) else {
                throw .idOutOfRange(name: name, id: id, vocabularySize: count)
            }
            return Int32(id)
        }
        bosID = try tokenID("bos_id", spec.bosID)
        eosID = try tokenID("eos_id", spec.eosID)
        if let unkID = spec.unkID { _ = try tokenID("unk_id", unkID) }
        if let padID = spec.padID { _ = try tokenID("pad_id", padID) }
        addsBOS = spec.addBOS
        self.preTokenizer = preTokenizer

        let tokenIDs = TokenTextIndex(tokens: spec.tokens)
        self.tokenIDs = tokenIDs
        byteTokenIDs = ByteLevel.scalarForByte.map { tokenIDs.id(of: String($0)) ?? -1 }
        mergeTable = try MergeTable(rules: spec.merges, tokens: tokenIDs)

        var bytes: [UInt8] = []
        var offsets = [0]
        var specials: [(text: String, id: Int32)] = []
        offsets.reserveCapacity(count + 1)
        for (id, (text, type)) in zip(spec.tokens, spec.tokenTypes).enumerated() {
            if Self.isSpecial(type: type) {
                bytes.append(contentsOf: text.utf8)
                specials.append((text, Int32(id)))
            } else {
                Self.appendBytes(ofByteLevelText: text, to: &bytes)
            }
            offsets.append(bytes.count)
        }
        tokenBytes = bytes
        tokenByteOffsets = offsets
        specialTokens = SpecialTokenMatcher(tokens: specials)
    }

    /// The token ids of `text`, starting with BOS if the spec asks for it. Special-token text
    /// in it becomes control tokens unless `parseSpecialTokens` is false (see `PromptPiece`).
    public func encode(_ text: String, parseSpecialTokens: Bool = true) -> [Int32] {
        encode([PromptPiece(text, parsesSpecialTokens: parseSpecialTokens)])
    }

    /// The token ids of the pieces' concatenated text, special tokens matched only inside
    /// pieces that parse them (and not straddling a piece's end).
    public func encode(_ pieces: [PromptPiece]) -> [Int32] {
        var scalars: [Unicode.Scalar] = []
        // For each scalar: the end of its piece if that piece parses special tokens, else 0.
        var specialsEndAt: [Int] = []
        for piece in pieces {
            let start = scalars.count
            scalars += piece.text.unicodeScalars
            specialsEndAt += repeatElement(piece.parsesSpecialTokens ? scalars.count : 0, count: scalars.count - start)
        }
        var ids: [Int32] = addsBOS ? [bosID] : []
        ids.reserveCapacity(ids.count + scalars.count / 2)
        var scratch = EncodingScratch()
        var segmentStart = 0
        var index = 0
        while index < scalars.count {
            if specialsEndAt[index] > index, let special = specialTokens.match(in: scalars, at: index),
               index + special.length <= specialsEndAt[index] {
                encodeOrdinaryText(scalars[segmentStart..<index], into: &ids, scratch: &scratch)
                ids.append(special.id)
                index += special.length
                segmentStart = index
            } else {
                index += 1
            }
        }
        encodeOrdinaryText(scalars[segmentStart...], into: &ids, scratch: &scratch)
        return ids
    }

    /// The text of `ids`. Ids that are not tokens decode to nothing; bytes that are not
    /// valid UTF-8 (a character cut off at the end) become U+FFFD.
    public func decode(_ ids: [Int32]) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            bytes.append(contentsOf: byteSlice(of: id))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The bytes token `id` stands for (special tokens: their literal text); empty if
    /// `id` is not a token. A token may hold part of a UTF-8 character.
    public func bytes(of id: Int32) -> [UInt8] {
        Array(byteSlice(of: id))
    }

    /// `bytes(of:)` without the copy, for decoding loops.
    func byteSlice(of id: Int32) -> ArraySlice<UInt8> {
        guard id >= 0, Int(id) < vocabularySize else { return [] }
        return tokenBytes[tokenByteOffsets[Int(id)]..<tokenByteOffsets[Int(id) + 1]]
    }

    /// The id of the token whose vocabulary text is `token` (in the byte-level alphabet,
    /// e.g. "Ġthe"; special tokens as written, e.g. "<|im_end|>").
    public func id(of token: String) -> Int32? {
        tokenIDs.id(of: token)
    }

    /// Buffers reused across the pieces of one `encode` call.
    private struct EncodingScratch {
        var symbols: [Int32] = []
        var merger = PieceMerger()
    }

    private func encodeOrdinaryText(
        _ scalars: ArraySlice<Unicode.Scalar>, into ids: inout [Int32], scratch: inout EncodingScratch
    ) {
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

    /// GGUF types 3 (control) and 4 (user-defined).
    private static func isSpecial(type: Int) -> Bool {
        type == 3 || type == 4
    }

    /// Maps byte-level text back to bytes; a scalar outside the alphabet (only in
    /// malformed vocabularies) stands for its own UTF-8.
    private static func appendBytes(ofByteLevelText text: String, to bytes: inout [UInt8]) {
        for scalar in text.unicodeScalars {
            if let byte = ByteLevel.byte(for: scalar) {
                bytes.append(byte)
            } else {
                UTF8.encode(scalar) { bytes.append($0) }
            }
        }
    }
}
