import RecycleKernels
import RecycleModel

extension LlamaWeights {
    /// Bytes of weights one forward pass reads, whatever the number of tokens in it: every
    /// layer's matrices and norm vectors, the final norm, the LM head, and one embedding row
    /// per token (counted once: decoding passes one token). With tied embeddings the LM head is
    /// the embedding matrix, read whole by the head and one row again by the lookup.
    var bytesReadPerPass: Int {
        func size(_ m: Matrix) -> Int { m.rows * m.rowBytes }
        let norm = config.modelDim * MemoryLayout<Float>.size
        let layerBytes = layers.reduce(0) { sum, l in
            sum + [l.query, l.key, l.value, l.attentionOutput, l.gate, l.up, l.down].map(size).reduce(0, +) + 2 * norm
        }
        return layerBytes + norm + size(output) + tokenEmbedding.rowBytes
    }
}
