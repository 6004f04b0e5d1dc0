import RecycleKernels

/// The weights of one transformer layer, as views into the mapped file.
public struct LayerWeights: @unchecked Sendable {
    public let attentionNorm: UnsafePointer<Float>
    public let query: Matrix
    public let key: Matrix
    public let value: Matrix
    public let attentionOutput: Matrix
    public let ffnNorm: UnsafePointer<Float>
    public let gate: Matrix
    public let up: Matrix
    public let down: Matrix
}

/// All weights of a Llama model, looked up by name and shape-checked against the config.
/// Nothing is copied or dequantized: kernels read the quantized blocks in place.
public struct LlamaWeights: @unchecked Sendable {
    public let config: ModelConfig
    public let tokenEmbedding: Matrix
    public let outputNorm: UnsafePointer<Float>
    /// The LM head: `token_embd.weight` itself when embeddings are tied.
    public let output: Matrix
    public let layers: [LayerWeights]
    /// Keeps the mapping alive for as long as the views are used.
    public let file: WeightsFile

    public init(file: WeightsFile) throws(WeightsFileError) {
        let c = file.metadata.config
        config = c
        self.file = file
        tokenEmbedding = try file.matrix("token_embd.weight", rows: c.vocabSize, cols: c.modelDim)
        outputNorm = try file.vector("output_norm.weight", count: c.modelDim)
        output = c.tiedEmbeddings
            ? tokenEmbedding
            : try file.matrix("output.weight", rows: c.vocabSize, cols: c.modelDim)
        var layers: [LayerWeights] = []
        for i in 0..<c.layers {
            let p = "blk.\(i)."
            layers.append(LayerWeights(
                attentionNorm: try file.vector(p + "attn_norm.weight", count: c.modelDim),
                query: try file.matrix(p + "attn_q.weight", rows: c.queryDim, cols: c.modelDim),
                key: try file.matrix(p + "attn_k.weight", rows: c.kvDim, cols: c.modelDim),
                value: try file.matrix(p + "attn_v.weight", rows: c.kvDim, cols: c.modelDim),
                attentionOutput: try file.matrix(p + "attn_output.weight", rows: c.modelDim, cols: c.queryDim),
                ffnNorm: try file.vector(p + "ffn_norm.weight", count: c.modelDim),
                gate: try file.matrix(p + "ffn_gate.weight", rows: c.ffnDim, cols: c.modelDim),
                up: try file.matrix(p + "ffn_up.weight", rows: c.ffnDim, cols: c.modelDim),
                down: try file.matrix(p + "ffn_down.weight", rows: c.modelDim, cols: c.ffnDim)))
        }
        self.layers = layers
    }
}
