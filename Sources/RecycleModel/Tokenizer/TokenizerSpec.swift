/// The tokenizer as stored in the weights file's metadata (`tokenizer` object, see
/// docs/FORMAT.md). It is untrusted input: `Tokenizer.init(spec:)` validates it.
public struct TokenizerSpec: Codable, Sendable {
    /// The tokenization algorithm; only `"gpt2-bpe"` (byte-level BPE) is supported.
    public var model: String
    /// The splitting rule applied before BPE; only `"smollm"` is supported.
    public var preTokenizer: String
    /// Token texts indexed by id, in GPT-2's byte-to-unicode alphabet.
    public var tokens: [String]
    /// GGUF token type codes, one per token (3 control and 4 user-defined are special).
    public var tokenTypes: [Int]
    /// Merge rules in priority order, each two symbols separated by one space.
    public var merges: [String]
    /// Id of the beginning-of-sequence token (`bos_id`).
    public var bosID: Int
    /// Id of the end-of-sequence token (`eos_id`).
    public var eosID: Int
    /// Id of the unknown token (`unk_id`), if any; checked to be a token, otherwise unused.
    public var unkID: Int?
    /// Id of the padding token (`pad_id`), if any; checked to be a token, otherwise unused.
    public var padID: Int?
    /// Whether encoding a text starts with the BOS token.
    public var addBOS: Bool

    /// A spec with the given tables; nothing is validated until `Tokenizer.init(spec:)`.
    public init(
        model: String = "gpt2-bpe", preTokenizer: String = "smollm",
        tokens: [String], tokenTypes: [Int], merges: [String],
        bosID: Int, eosID: Int, unkID: Int? = nil, padID: Int? = nil, addBOS: Bool = false
    ) {
        self.model = model
        self.preTokenizer = preTokenizer
        self.tokens = tokens
        self.tokenTypes = tokenTypes
        self.merges = merges
        self.bosID = bosID
        self.eosID = eosID
        self.unkID = unkID
        self.padID = padID
        self.addBOS = addBOS
    }

    private enum CodingKeys: String, CodingKey {
        case model
        case preTokenizer = "pre_tokenizer"
        case tokens
        case tokenTypes = "token_types"
        case merges
        case bosID = "bos_id"
        case eosID = "eos_id"
        case unkID = "unk_id"
        case padID = "pad_id"
        case addBOS = "add_bos"
    }
}
