/// The model families the runtime runs (`architecture` in the metadata).
///
/// They share one forward pass (`Transformer`): what differs is data, either in the config
/// (ModelConfig's optional keys: sliding windows, RoPE pairing and bases, scales, the
/// activation) or in which norm tensors a layer holds (here). A family is added by naming
/// its tensors and config keys, not by copying the forward pass.
public enum Architecture: String, Sendable, CaseIterable {
    /// Llama (and SmolLM2): pre-norm attention and SwiGLU feed-forward.
    case llama
    /// Gemma 3: llama's layer plus RMSNorms on each query and key head, and on the outputs
    /// of attention and of the feed-forward before they join the residual stream.
    case gemma3

    /// Whether a layer normalizes each query and key head (`attn_q_norm`, `attn_k_norm`).
    var normalizesQueriesAndKeys: Bool { self == .gemma3 }
    /// Whether a layer normalizes the attention and feed-forward outputs
    /// (`post_attention_norm`, `post_ffw_norm`).
    var normalizesBlockOutputs: Bool { self == .gemma3 }
}
