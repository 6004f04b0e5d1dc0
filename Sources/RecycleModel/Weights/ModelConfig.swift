/// The shape of a Llama-family transformer, as stored in the weights file's metadata.
public struct ModelConfig: Codable, Sendable, Equatable {
    /// Number of transformer layers (`n_layers`).
    public var layers: Int
    /// Width of the residual stream (`d_model`); a multiple of 32.
    public var modelDim: Int
    /// Number of query heads (`n_heads`); a multiple of `kvHeads`.
    public var heads: Int
    /// Number of key/value heads (`n_kv_heads`); each serves `heads / kvHeads` query heads.
    public var kvHeads: Int
    /// Floats per attention head (`head_dim`); a multiple of 16.
    public var headDim: Int
    /// Hidden width of the SwiGLU feed-forward (`ffn_dim`); a multiple of 32.
    public var ffnDim: Int
    /// Number of tokens (`vocab_size`): rows of the embedding table and of the logits.
    public var vocabSize: Int
    /// Positions the model was trained for (`context_length`): the most a KV cache may hold.
    public var contextLength: Int
    /// Base of the rotary embedding angles (`rope_theta`); positive.
    public var ropeTheta: Double
    /// Epsilon added to the mean square in RMSNorm (`rms_norm_eps`); positive.
    public var rmsNormEps: Double
    /// Whether the LM head is the embedding table (`tied_embeddings`): no `output.weight`.
    public var tiedEmbeddings: Bool
    /// Which query/key dimensions rotate together; only "adjacent" is supported.
    public var ropePairing: String

    enum CodingKeys: String, CodingKey {
        case layers = "n_layers", modelDim = "d_model", heads = "n_heads", kvHeads = "n_kv_heads"
        case headDim = "head_dim", ffnDim = "ffn_dim", vocabSize = "vocab_size"
        case contextLength = "context_length", ropeTheta = "rope_theta", rmsNormEps = "rms_norm_eps"
        case tiedEmbeddings = "tied_embeddings", ropePairing = "rope_pairing"
    }

    /// Floats of all query heads of one token: `heads * headDim`.
    public var queryDim: Int { heads * headDim }
    /// Floats of all key (or value) heads of one token: `kvHeads * headDim`.
    public var kvDim: Int { kvHeads * headDim }

    /// Checks what the kernels and the forward pass rely on; the values come from an
    /// untrusted file, so they are also bounded to keep allocations sane.
    func validate() throws(WeightsFileError) {
        func require(_ ok: Bool, _ why: String) throws(WeightsFileError) {
            if !ok { throw .invalidConfig(why) }
        }
        let dims = [layers, modelDim, heads, kvHeads, headDim, ffnDim, vocabSize, contextLength]
        try require(dims.allSatisfy { $0 > 0 }, "every dimension must be positive")
        // Every count is bounded before any product of counts is formed (`queryDim`,
        // `kvDim`, tensor sizes, the KV cache), so that none of those products can overflow.
        try require(layers <= 4096 && modelDim <= 1 << 16 && ffnDim <= 1 << 18 && vocabSize <= 1 << 22
                    && contextLength <= 1 << 24 && heads <= 4096 && kvHeads <= 4096 && headDim <= 4096,
                    "dimensions are implausibly large (limits: n_layers 4096, d_model 65536, ffn_dim 262144, "
                    + "vocab_size 4194304, context_length 16777216, n_heads, n_kv_heads and head_dim 4096)")
        try require(heads % kvHeads == 0, "n_heads (\(heads)) must be a multiple of n_kv_heads (\(kvHeads))")
        try require(headDim % 16 == 0, "head_dim (\(headDim)) must be a multiple of 16")
        try require(modelDim % 32 == 0 && ffnDim % 32 == 0 && queryDim % 32 == 0,
                    "d_model, ffn_dim and n_heads * head_dim must be multiples of 32")
        try require(ropeTheta.isFinite && ropeTheta > 0, "rope_theta must be positive")
        try require(rmsNormEps.isFinite && rmsNormEps > 0, "rms_norm_eps must be positive")
        try require(ropePairing == "adjacent", "unsupported rope_pairing \"\(ropePairing)\"")
    }
}

/// Everything in the metadata block (docs/FORMAT.md, "Metadata").
public struct ModelMetadata: Codable, Sendable {
    /// The model family; only "llama" is supported.
    public var architecture: String
    /// The transformer's shape.
    public var config: ModelConfig
    /// The tokenizer's tables and special ids, unchecked until `Tokenizer.init(spec:)`.
    public var tokenizer: TokenizerSpec
    /// Name of the chat template (`chat_template`, only "chatml"); nil for a model without one.
    public var chatTemplate: String?
    /// The system message for conversations without one (`default_system_prompt`), if any.
    public var defaultSystemPrompt: String?

    enum CodingKeys: String, CodingKey {
        case architecture, config, tokenizer
        case chatTemplate = "chat_template", defaultSystemPrompt = "default_system_prompt"
    }
}
