/// The shape of a Llama-family transformer, as stored in the weights file's metadata.
public struct ModelConfig: Codable, Sendable, Equatable {
    public var layers: Int
    public var modelDim: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var ffnDim: Int
    public var vocabSize: Int
    public var contextLength: Int
    public var ropeTheta: Double
    public var rmsNormEps: Double
    public var tiedEmbeddings: Bool
    /// Which query/key dimensions rotate together; only "adjacent" is supported.
    public var ropePairing: String

    enum CodingKeys: String, CodingKey {
        case layers = "n_layers", modelDim = "d_model", heads = "n_heads", kvHeads = "n_kv_heads"
        case headDim = "head_dim", ffnDim = "ffn_dim", vocabSize = "vocab_size"
        case contextLength = "context_length", ropeTheta = "rope_theta", rmsNormEps = "rms_norm_eps"
        case tiedEmbeddings = "tied_embeddings", ropePairing = "rope_pairing"
    }

    public var queryDim: Int { heads * headDim }
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
    public var architecture: String
    public var config: ModelConfig
    public var tokenizer: TokenizerSpec
    public var chatTemplate: String?
    public var defaultSystemPrompt: String?

    enum CodingKeys: String, CodingKey {
        case architecture, config, tokenizer
        case chatTemplate = "chat_template", defaultSystemPrompt = "default_system_prompt"
    }
}
