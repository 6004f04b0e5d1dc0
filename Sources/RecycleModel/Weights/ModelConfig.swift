import RecycleKernels

/// The shape of a transformer, as stored in the weights file's metadata: llama's keys, and
/// the optional keys by which Gemma 3 differs (absent, each means llama's behaviour).
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
    /// Which query/key dimensions rotate together: a `RopePairing` raw value.
    public var ropePairing: String
    /// The RoPE base of sliding-window layers (`rope_theta_sliding`), if not `ropeTheta`.
    public var ropeThetaSliding: Double?
    /// Positions a sliding-window layer sees, its own included (`sliding_window`).
    public var slidingWindow: Int?
    /// Each layer's attention (`layer_types`): "full_attention" or "sliding_attention";
    /// nil: every layer full.
    public var layerTypes: [String]?
    /// Multiplies attention scores (`attention_scale`); nil: `1/sqrt(head_dim)`.
    public var attentionScale: Double?
    /// Multiplies token embeddings (`embedding_scale`); nil: 1.
    public var embeddingScale: Double?
    /// The feed-forward gate's activation (`activation`): an `Activation` raw value; nil: silu.
    public var activation: String?

    enum CodingKeys: String, CodingKey {
        case layers = "n_layers", modelDim = "d_model", heads = "n_heads", kvHeads = "n_kv_heads"
        case headDim = "head_dim", ffnDim = "ffn_dim", vocabSize = "vocab_size"
        case contextLength = "context_length", ropeTheta = "rope_theta", rmsNormEps = "rms_norm_eps"
        case tiedEmbeddings = "tied_embeddings", ropePairing = "rope_pairing"
        case ropeThetaSliding = "rope_theta_sliding", slidingWindow = "sliding_window", layerTypes = "layer_types"
        case attentionScale = "attention_scale", embeddingScale = "embedding_scale", activation
    }

    /// The feed-forward gate's activation.
    public enum Activation: String, Sendable {
        /// `x * sigmoid(x)` (SwiGLU: llama).
        case silu
        /// GELU with the tanh approximation (GeGLU: Gemma).
        case geluTanh = "gelu_tanh"
    }

    /// The gate's activation (validated when the file was opened).
    public var feedForwardActivation: Activation { activation.flatMap(Activation.init(rawValue:)) ?? .silu }
    /// The RoPE pairing (validated when the file was opened).
    public var pairing: RopePairing { RopePairing(rawValue: ropePairing) ?? .adjacent }
    /// The window of layer `l`, or nil when it sees every earlier position.
    public func window(layer l: Int) -> Int? { layerTypes?[l] == "sliding_attention" ? slidingWindow : nil }
    /// The RoPE base of layer `l`.
    public func ropeTheta(layer l: Int) -> Double { window(layer: l) != nil ? ropeThetaSliding ?? ropeTheta : ropeTheta }
    /// The distinct RoPE bases the layers use (one table each): `ropeTheta`, then the sliding
    /// layers' own when some layer slides. Read from `layer_types`, never by walking
    /// `layers`, which an untrusted config may set to billions.
    public var ropeBases: [Double] {
        guard layerTypes?.contains("sliding_attention") == true, let sliding = ropeThetaSliding, sliding != ropeTheta else {
            return [ropeTheta]
        }
        return [ropeTheta, sliding]
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
        try require(RopePairing(rawValue: ropePairing) != nil,
                    "unsupported rope_pairing \"\(ropePairing)\" (supported: adjacent, halves)")
        for (key, value) in [("rope_theta_sliding", ropeThetaSliding), ("attention_scale", attentionScale),
                             ("embedding_scale", embeddingScale)] {
            try require(value.map { $0.isFinite && $0 > 0 } ?? true, "\(key) must be positive")
        }
        if let activation {
            try require(Activation(rawValue: activation) != nil,
                        "unsupported activation \"\(activation)\" (supported: silu, gelu_tanh)")
        }
        if let layerTypes {
            try require(layerTypes.count == layers, "layer_types must name one attention per layer (\(layers))")
            try require(layerTypes.allSatisfy { $0 == "full_attention" || $0 == "sliding_attention" },
                        "layer_types may only hold \"full_attention\" and \"sliding_attention\"")
            if layerTypes.contains("sliding_attention") {
                try require((slidingWindow ?? 0) > 0, "sliding_window must be positive when layers slide")
            }
        }
    }
}

/// Everything in the metadata block (docs/FORMAT.md, "Metadata").
public struct ModelMetadata: Codable, Sendable {
    /// The model family: an `Architecture` raw value ("llama", "gemma3").
    public var architecture: String
    /// The transformer's shape.
    public var config: ModelConfig
    /// The tokenizer's tables and special ids, unchecked until `Tokenizer.init(spec:)`.
    public var tokenizer: TokenizerSpec
    /// Name of the chat template (`chat_template`: "chatml", "gemma3"); nil for a model without one.
    public var chatTemplate: String?
    /// The system message for conversations without one (`default_system_prompt`), if any.
    public var defaultSystemPrompt: String?

    enum CodingKeys: String, CodingKey {
        case architecture, config, tokenizer
        case chatTemplate = "chat_template", defaultSystemPrompt = "default_system_prompt"
    }
}
