import RecycleKernels
import RecycleModel

extension ModelWeights {
    /// Bytes of weights one forward pass reads, whatever the number of tokens in it: every
    /// layer's matrices and norm vectors, the final norm, the LM head, and one embedding row
    /// per token (counted once: decoding passes one token). With tied embeddings the LM head is
    /// the embedding matrix, read whole by the head and one row again by the lookup.
    var bytesReadPerPass: Int {
        let norm = config.modelDim * MemoryLayout<Float>.size
        var layerBytes = 0
        for l in layers {
            let matrices: [WeightMatrix] = [l.query, l.key, l.value, l.attentionOutput, l.gate, l.up, l.down]
            layerBytes += matrices.reduce(0) { $0 + $1.bytes } + 2 * norm
        }
        return layerBytes + norm + output.bytes + tokenEmbedding.rowBytes
    }
}
