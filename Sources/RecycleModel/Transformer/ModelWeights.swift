import RecycleKernels

/// The weights of one transformer layer, as views into the mapped file.
public struct LayerWeights: @unchecked Sendable {
    // Sendable: immutable views into the weights file's read-only mapping.
    /// RMSNorm weights before attention (`attn_norm`), `modelDim` floats.
    public let attentionNorm: UnsafePointer<Float>
    /// Query projection (`attn_q`), `[queryDim, modelDim]`.
    public let query: WeightMatrix
    /// Key projection (`attn_k`), `[kvDim, modelDim]`.
    public let key: WeightMatrix
    /// Value projection (`attn_v`), `[kvDim, modelDim]`.
    public let value: WeightMatrix
    /// Attention output projection (`attn_output`), `[modelDim, queryDim]`.
    public let attentionOutput: WeightMatrix
    /// RMSNorm weights before the feed-forward (`ffn_norm`), `modelDim` floats.
    public let ffnNorm: UnsafePointer<Float>
    /// SwiGLU gate projection (`ffn_gate`), `[ffnDim, modelDim]`.
    public let gate: WeightMatrix
    /// SwiGLU up projection (`ffn_up`), `[ffnDim, modelDim]`.
    public let up: WeightMatrix
    /// Feed-forward down projection (`ffn_down`), `[modelDim, ffnDim]`.
    public let down: WeightMatrix
    /// RMSNorm weights of each query and each key head (`attn_q_norm`, `attn_k_norm`),
    /// `headDim` floats each; nil where the architecture has none.
    public let queryNorm, keyNorm: UnsafePointer<Float>?
    /// RMSNorm weights of the attention and feed-forward outputs (`post_attention_norm`,
    /// `post_ffw_norm`), `modelDim` floats each; nil where the architecture has none.
    public let postAttentionNorm, postFFNNorm: UnsafePointer<Float>?
}

/// All weights of a model, looked up by name and shape-checked against the config.
/// The embedding table is read in place; the matrices the matmuls read are `WeightMatrix`es
/// (block-quantized ones copied once into the integer kernels' interleaved layout).
public struct ModelWeights: @unchecked Sendable {
    // Sendable: immutable views into `file`'s read-only mapping, which `file` keeps alive.
    /// The shape every tensor was checked against.
    public let config: ModelConfig
    /// Token embedding table (`token_embd`), `[vocabSize, modelDim]`, read in place.
    public let tokenEmbedding: Matrix
    /// RMSNorm weights before the LM head (`output_norm`), `modelDim` floats.
    public let outputNorm: UnsafePointer<Float>
    /// The LM head: `token_embd.weight` itself when embeddings are tied.
    public let output: WeightMatrix
    /// The layers' weights, first layer first.
    public let layers: [LayerWeights]
    /// Keeps the mapping alive for as long as the views are used.
    public let file: WeightsFile

    /// Looks up and shape-checks every tensor of `file`'s config, and prepares the matrices for
    /// the kernels; throws on a missing, misshapen or unexpected tensor.
    public init(file: WeightsFile) throws(WeightsFileError) {
        let c = file.metadata.config
        // WeightsFile has checked the name.
        let architecture = Architecture(rawValue: file.metadata.architecture)!
        config = c
        self.file = file
        // A tensor nobody reads means the config describes another model than the file holds
        // (e.g. n_layers 29 over 30 stored layers); running it would silently be wrong. Checked
        // first, before any matrix is copied.
        var expected: Set<String> = ["token_embd.weight", "output_norm.weight"]
        if !c.tiedEmbeddings { expected.insert("output.weight") }
        for i in 0..<c.layers {
            var parts = ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"]
            if architecture.normalizesQueriesAndKeys { parts += ["attn_q_norm", "attn_k_norm"] }
            if architecture.normalizesBlockOutputs { parts += ["post_attention_norm", "post_ffw_norm"] }
            for part in parts { expected.insert("blk.\(i).\(part).weight") }
        }
        if let extra = file.tensors.first(where: { !expected.contains($0.name) }) {
            throw .unexpectedTensor(name: extra.name, layers: c.layers, architecture: architecture.rawValue)
        }
        tokenEmbedding = try file.matrix("token_embd.weight", rows: c.vocabSize, cols: c.modelDim)
        outputNorm = try file.vector("output_norm.weight", count: c.modelDim)
        /// The kernels' copy of `m`, with the file's pages of it released once copied.
        func prepared(_ m: Matrix) -> WeightMatrix {
            let w = WeightMatrix(m)
            if !w.readsInPlace { file.releaseResidentPages(of: m) }
            return w
        }
        output = prepared(c.tiedEmbeddings
            ? tokenEmbedding
            : try file.matrix("output.weight", rows: c.vocabSize, cols: c.modelDim))
        var layers: [LayerWeights] = []
        for i in 0..<c.layers {
            let p = "blk.\(i)."
            layers.append(LayerWeights(
                attentionNorm: try file.vector(p + "attn_norm.weight", count: c.modelDim),
                query: try prepared(file.matrix(p + "attn_q.weight", rows: c.queryDim, cols: c.modelDim)),
                key: try prepared(file.matrix(p + "attn_k.weight", rows: c.kvDim, cols: c.modelDim)),
                value: try prepared(file.matrix(p + "attn_v.weight", rows: c.kvDim, cols: c.modelDim)),
                attentionOutput: try prepared(file.matrix(p + "attn_output.weight", rows: c.modelDim, cols: c.queryDim)),
                ffnNorm: try file.vector(p + "ffn_norm.weight", count: c.modelDim),
                gate: try prepared(file.matrix(p + "ffn_gate.weight", rows: c.ffnDim, cols: c.modelDim)),
                up: try prepared(file.matrix(p + "ffn_up.weight", rows: c.ffnDim, cols: c.modelDim)),
                down: try prepared(file.matrix(p + "ffn_down.weight", rows: c.modelDim, cols: c.ffnDim)),
                queryNorm: architecture.normalizesQueriesAndKeys ? try file.vector(p + "attn_q_norm.weight", count: c.headDim) : nil,
                keyNorm: architecture.normalizesQueriesAndKeys ? try file.vector(p + "attn_k_norm.weight", count: c.headDim) : nil,
                postAttentionNorm: architecture.normalizesBlockOutputs
                    ? try file.vector(p + "post_attention_norm.weight", count: c.modelDim) : nil,
                postFFNNorm: architecture.normalizesBlockOutputs ? try file.vector(p + "post_ffw_norm.weight", count: c.modelDim) : nil))
        }
        self.layers = layers
    }
}
