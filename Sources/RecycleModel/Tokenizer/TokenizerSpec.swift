/// The tokenizer as stored in the weights file's metadata (`tokenizer` object, see
/// docs/FORMAT.md). It is untrusted input: `Tokenizer.init(spec:)` validates it.
///
/// Which keys a spec needs depends on `model`: `"gpt2-bpe"` needs `pre_tokenizer` and
/// `merges`, `"sentencepiece"` needs `scores` and `add_space_prefix`. Keys the model does
/// not use are ignored.
public struct TokenizerSpec: Codable, Sendable {
    /// The tokenization algorithm: `"gpt2-bpe"` (byte-level BPE, SmolLM2) or
    /// `"sentencepiece"` (SentencePiece BPE with byte fallback, Gemma 3).
    public var model: String
    /// gpt2-bpe: the splitting rule applied before BPE; only `"smollm"` is supported.
    public var preTokenizer: String?
    /// Token texts indexed by id: in GPT-2's byte-to-unicode alphabet for gpt2-bpe; raw
    /// text with spaces written as U+2581 ("▁") for sentencepiece.
    public var tokens: [String]
    /// GGUF token type codes, one per token (1 normal, 2 unknown, 3 control,
    /// 4 user-defined, 5 unused, 6 byte).
    public var tokenTypes: [Int]
    /// gpt2-bpe: merge rules in priority order, each two symbols separated by one space.
    public var merges: [String]?
    /// sentencepiece: one score per token; of the pairs that could merge, the one making
    /// the highest-scoring token merges first.
    public var scores: [Float]?
    /// Id of the beginning-of-sequence token (`bos_id`).
    public var bosID: Int
    /// Id of the end-of-sequence token (`eos_id`).
    public var eosID: Int
    /// Id of the unknown token (`unk_id`), if any. Checked to be a token; sentencepiece
    /// emits it for a byte whose `<0xXX>` token is missing.
    public var unkID: Int?
    /// Id of the padding token (`pad_id`), if any; checked to be a token, otherwise unused.
    public var padID: Int?
    /// Whether encoding a text starts with the BOS token.
    public var addBOS: Bool
    /// sentencepiece: whether a space is put before the text (SentencePiece's
    /// `add_dummy_prefix`); only false is supported.
    public var addSpacePrefix: Bool?

    /// A spec with the given tables; nothing is validated until `Tokenizer.init(spec:)`.
    public init(
        model: String = "gpt2-bpe", preTokenizer: String? = "smollm",
        tokens: [String], tokenTypes: [Int], merges: [String]? = nil, scores: [Float]? = nil,
        bosID: Int, eosID: Int, unkID: Int? = nil, padID: Int? = nil, addBOS: Bool = false,
        addSpacePrefix: Bool? = nil
    ) {
        self.model = model
        self.preTokenizer = preTokenizer
        self.tokens = tokens
        self.tokenTypes = tokenTypes
        self.merges = merges
        self.scores = scores
        self.bosID = bosID
        self.eosID = eosID
        self.unkID = unkID
        self.padID = padID
        self.addBOS = addBOS
        self.addSpacePrefix = addSpacePrefix
    }

    private enum CodingKeys: String, CodingKey {
        case model
        case preTokenizer = "pre_tokenizer"
        case tokens
        case tokenTypes = "token_types"
        case merges
        case scores
        case bosID = "bos_id"
        case eosID = "eos_id"
        case unkID = "unk_id"
        case padID = "pad_id"
        case addBOS = "add_bos"
        case addSpacePrefix = "add_space_prefix"
    }
}
