/// The model's tokenizer: byte-level BPE (GPT-2 style, SmolLM2) or SentencePiece BPE with
/// byte fallback (Gemma 3), as the spec's `model` says.
///
/// Encoding: special tokens are matched literally first (control tokens only where the
/// caller allows it, see `PromptPiece`); the text between them goes to the model's
/// encoder. All tables are built once here so that encoding only hashes integers and bytes.
public struct Tokenizer: Sendable {
    /// Id of the beginning-of-sequence token (the spec's `bos_id`).
    public let bosID: Int32
    /// Id of the end-of-sequence token (the spec's `eos_id`); generation stops at it.
    public let eosID: Int32
    /// Whether `encode` starts with the BOS token (the spec's `add_bos`).
    public let addsBOS: Bool
    /// Token text (as the vocabulary writes it) to id; for duplicate texts, the lowest id.
    private let tokenIDs: TokenTextIndex
    /// The decoded bytes of every token, concatenated: one buffer rather than an array
    /// per token keeps construction fast.
    private let tokenBytes: [UInt8]
    /// Token `id`'s bytes are `tokenBytes[tokenByteOffsets[id]..<tokenByteOffsets[id + 1]]`.
    private let tokenByteOffsets: [Int]
    private let specialTokens: SpecialTokenMatcher
    private let encoder: Encoder

    /// The algorithm for the text between special tokens.
    private enum Encoder: Sendable {
        case bytePairs(BytePairEncoder)
        case sentencePiece(SentencePieceEncoder)
    }

    /// Number of tokens; valid ids are `0..<vocabularySize`.
    public var vocabularySize: Int { tokenByteOffsets.count - 1 }

    /// Builds the tokenizer from untrusted `spec`, validating it.
    public init(spec: TokenizerSpec) throws(TokenizerError) {
        let count = spec.tokens.count
        guard count > 0 else { throw .emptyVocabulary }
        guard count <= Int(Int32.max) else { throw .tableTooLarge(table: "tokens", count: count) }
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
        var unknownID: Int32?
        if let unkID = spec.unkID { unknownID = try tokenID("unk_id", unkID) }
        if let padID = spec.padID { _ = try tokenID("pad_id", padID) }
        addsBOS = spec.addBOS
        let tokenIDs = TokenTextIndex(tokens: spec.tokens)
        self.tokenIDs = tokenIDs

        let decoding: Decoding
        switch spec.model {
        case "gpt2-bpe":
            encoder = .bytePairs(try Self.bytePairEncoder(spec, tokenIDs))
            decoding = .byteLevel
        case "sentencepiece":
            encoder = .sentencePiece(try Self.sentencePieceEncoder(spec, tokenIDs, unknownID: unknownID))
            decoding = .sentencePiece
        default:
            throw .unsupportedModel(spec.model)
        }

        var bytes: [UInt8] = []
        var offsets = [0]
        var specials: [SpecialTokenMatcher.Token] = []
        bytes.reserveCapacity(8 * count)
        offsets.reserveCapacity(count + 1)
        for (id, (text, type)) in zip(spec.tokens, spec.tokenTypes).enumerated() {
            if let matchesInContent = decoding.special(type: type) {
                specials.append(.init(text: text, id: Int32(id), matchesInContent: matchesInContent))
            }
            try decoding.appendBytes(of: text, type: type, id: id, to: &bytes)
            offsets.append(bytes.count)
        }
        tokenBytes = bytes
        tokenByteOffsets = offsets
        specialTokens = SpecialTokenMatcher(tokens: specials)
    }

    private static func bytePairEncoder(_ spec: TokenizerSpec, _ tokens: TokenTextIndex) throws(TokenizerError) -> BytePairEncoder {
        guard let name = spec.preTokenizer else { throw .missingKey(model: spec.model, key: "pre_tokenizer") }
        guard let preTokenizer = PreTokenizer(rawValue: name) else { throw .unsupportedPreTokenizer(name) }
        guard let merges = spec.merges else { throw .missingKey(model: spec.model, key: "merges") }
        guard merges.count <= Int(Int32.max) else { throw .tableTooLarge(table: "merges", count: merges.count) }
        return try BytePairEncoder(preTokenizer: preTokenizer, merges: merges, tokens: tokens)
    }

    private static func sentencePieceEncoder(
        _ spec: TokenizerSpec, _ tokens: TokenTextIndex, unknownID: Int32?
    ) throws(TokenizerError) -> SentencePieceEncoder {
        guard let scores = spec.scores else { throw .missingKey(model: spec.model, key: "scores") }
        guard scores.count == spec.tokens.count else {
            throw .scoreCountMismatch(tokens: spec.tokens.count, scores: scores.count)
        }
        if let invalid = scores.firstIndex(where: \.isNaN) { throw .invalidScore(id: invalid) }
        guard let addSpacePrefix = spec.addSpacePrefix else {
            throw .missingKey(model: spec.model, key: "add_space_prefix")
        }
        guard !addSpacePrefix else { throw .unsupportedSpacePrefix }
        return SentencePieceEncoder(tokens: tokens, types: spec.tokenTypes, scores: scores, unknownID: unknownID)
    }

    /// The token ids of `text`, starting with BOS if the spec asks for it. Special-token text
    /// in it becomes control tokens unless `parseSpecialTokens` is false (see `PromptPiece`).
    public func encode(_ text: String, parseSpecialTokens: Bool = true) -> [Int32] {
        encode([PromptPiece(text, parsesSpecialTokens: parseSpecialTokens)])
    }

    /// The token ids of the pieces' concatenated text, control tokens matched only inside
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
            if let special = specialTokens.match(in: scalars, at: index, markupEnd: specialsEndAt[index]) {
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

    /// The id of the token whose vocabulary text is `token`, as the vocabulary writes it
    /// (byte-level BPE: "Ġthe"; SentencePiece: "▁the"; special tokens: "<|im_end|>").
    public func id(of token: String) -> Int32? {
        tokenIDs.id(of: token)
    }

    /// Buffers reused across the segments of one `encode` call.
    private struct EncodingScratch {
        var bytePairs = BytePairEncoder.Scratch()
        var sentencePiece = SentencePieceEncoder.Scratch()
    }

    private func encodeOrdinaryText(
        _ scalars: ArraySlice<Unicode.Scalar>, into ids: inout [Int32], scratch: inout EncodingScratch
    ) {
        switch encoder {
        case .bytePairs(let encoder): encoder.encode(scalars, into: &ids, scratch: &scratch.bytePairs)
        case .sentencePiece(let encoder): encoder.encode(scalars, into: &ids, scratch: &scratch.sentencePiece)
        }
    }

    /// How each model's vocabulary writes tokens, and which tokens are special.
    private enum Decoding {
        /// GPT-2's byte-to-unicode alphabet; control and user-defined tokens are literal
        /// text, matched in markup only.
        case byteLevel
        /// Raw text with "▁" for space, `<0xXX>` byte tokens; unknown, control and
        /// user-defined tokens are literal text, and user-defined ones are matched in
        /// content too, as llama.cpp and Hugging Face do.
        case sentencePiece

        /// Nil if tokens of GGUF type `type` are not special; else whether they are
        /// matched in content as well as in markup.
        func special(type: Int) -> Bool? {
            switch (self, type) {
            case (.byteLevel, 3), (.byteLevel, 4), (.sentencePiece, 2), (.sentencePiece, 3): false
            case (.sentencePiece, 4): true
            default: nil
            }
        }

        func appendBytes(of text: String, type: Int, id: Int, to bytes: inout [UInt8]) throws(TokenizerError) {
            if special(type: type) != nil {
                bytes.append(contentsOf: text.utf8)
                return
            }
            switch (self, type) {
            case (.byteLevel, _):
                BytePairEncoder.appendBytes(ofByteLevelText: text, to: &bytes)
            case (.sentencePiece, 6):
                guard let byte = Self.byte(ofByteToken: text) else { throw .malformedByteToken(id: id, text: text) }
                bytes.append(byte)
            case (.sentencePiece, _):
                Self.appendUnescaped(text, to: &bytes)
            }
        }

        /// The byte of a SentencePiece byte token, "<0x41>" for 0x41.
        private static func byte(ofByteToken text: String) -> UInt8? {
            let utf8 = Array(text.utf8)
            guard utf8.count == 6, utf8.starts(with: Array("<0x".utf8)), utf8[5] == UInt8(ascii: ">"),
                  let high = hexDigit(utf8[3]), let low = hexDigit(utf8[4])
            else { return nil }
            return high << 4 | low
        }

        private static func hexDigit(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            default: nil
            }
        }

        /// Appends `text`'s UTF-8 with each "▁" (E2 96 81) turned back into a space.
        private static func appendUnescaped(_ text: String, to bytes: inout [UInt8]) {
            var utf8 = text.utf8[...]
            while let index = utf8.firstIndex(of: 0xE2) {
                bytes.append(contentsOf: utf8[..<index])
                if utf8[index...].starts(with: [0xE2, 0x96, 0x81]) {
                    bytes.append(UInt8(ascii: " "))
                    utf8 = utf8[utf8.index(index, offsetBy: 3)...]
                } else {
                    bytes.append(0xE2)
                    utf8 = utf8[utf8.index(after: index)...]
                }
            }
            bytes.append(contentsOf: utf8)
        }
    }
}
