import RecycleKernels

/// The weights of one transformer layer, as views into the mapped file.
public struct LayerWeights: @unchecked Sendable {
    public let attentionNorm: UnsafePointer<Float>
    public let query: WeightMatrix
    public let key: WeightMatrix
    public let value: WeightMatrix
    public let attentionOutput: WeightMatrix
    public let ffnNorm: UnsafePointer<Float>
    public let gate: WeightMatrix
    public let up: WeightMatrix
    public let down: WeightMatrix
}

/// All weights of a Llama model, looked up by name and shape-checked against the config.
/// The embedding table is read in place; the matrices the matmuls read are `WeightMatrix`es
/// (block-quantized ones copied once into the integer kernels' interleaved layout).
public struct LlamaWeights: @unchecked Sendable {
    public let config: ModelConfig
    public let tokenEmbedding: Matrix
    public let outputNorm: UnsafePointer<Float>
    /// The LM head: `token_embd.weight` itself when embeddings are tied.
    public let output: WeightMatrix
    public let layers: [LayerWeights]
    /// Keeps the mapping alive for as long as the views are used.
    public let file: WeightsFile

    public init(file: WeightsFile) throws(WeightsFileError) {
        let c = file.metadata.config
        config = c
        self.file = file
        // A tensor nobody reads means the config describes another model than the file holds
        // (e.g. n_layers 29 over 30 stored layers); running it would silently be wrong. Checked
        // first, before any matrix is copied.
        var expected: Set<String> = ["token_embd.weight", "output_norm.weight"]
        if !c.tiedEmbeddings { expected.insert("output.weight") }
        for i in 0..<c.layers {
            for part in ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"] {
                expected.insert("blk.\(i).\(part).weight")
            }
        }
        if let extra = file.tensors.first(where: { !expected.contains($0.name) }) {
            throw .unexpectedTensor(name: extra.name, layers: c.layers)
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
                down: try prepared(file.matrix(p + "ffn_down.weight", rows: c.modelDim, cols: c.ffnDim))))
        }
        self.layers = layers
    }
}
