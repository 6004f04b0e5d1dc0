import RecycleKernels

/// Which rows of logits a forward pass returns.
public enum LogitRows: Sendable {
    /// Only the last token's (prefill before sampling).
    case last
    /// Every token's (verification of drafted tokens, parity tests).
    case all
}

/// Why a forward pass was refused or failed; `cache.count` is then unchanged.
public enum ForwardError: Error, Equatable, CustomStringConvertible {
    /// The tokens would go past the KV cache's capacity.
    case contextFull(needed: Int, capacity: Int)
    /// A token id outside `0..<vocabSize`.
    case tokenOutOfRange(Int32, vocabSize: Int)
    /// No tokens were given.
    case emptyInput
    /// A draft tree whose node 0 is not the root or whose parent comes after its child.
    case invalidTree
    /// A NaN or infinity in a layer's output (`layer`), or in the logits (`layer` nil).
    case nonFinite(layer: Int?)

    public var description: String {
        switch self {
        case let .contextFull(needed, capacity):
            "context full: \(needed) positions needed, the context holds \(capacity) (raise --context)"
        case let .tokenOutOfRange(id, vocab): "token id \(id) is outside the vocabulary (0..<\(vocab))"
        case .emptyInput: "no tokens to run"
        case .invalidTree: "invalid draft tree: node 0 must be the root and every parent must come before its child"
        case let .nonFinite(layer):
            (layer.map { "the output of layer \($0) (blk.\($0).*)" } ?? "the logits (output_norm, output head)")
                + " holds NaN or infinite values: the weights are corrupt, even if the checksum matches"
        }
    }
}

/// The forward pass over N new tokens at once, on top of a KV cache, for every
/// `Architecture`: llama's layer, with Gemma 3's pieces where the weights and config have
/// them (embedding scale, query/key norms, per-layer RoPE base and sliding window,
/// attention scale, norms after attention and after the feed-forward, GeGLU).
///
/// Prefill, single-token decode and verification of drafted tokens are the same code.
/// Every step is per-token or a batch-invariant matmul, so a token's logits do not depend
/// on how many tokens share the pass (see `matmul` and `attend`).
public final class Transformer: @unchecked Sendable {
    /// The model's weights.
    public let weights: ModelWeights
    /// The model's shape (`weights.config`).
    public let config: ModelConfig
    /// Keys and values of the committed positions; `cache.count` is where the next tokens go.
    public let cache: KVCache
    /// The threads the matmuls and attention run on.
    public let pool: WorkerPool
    /// How the matmuls over block-quantized weights quantize their inputs.
    public let precision: InputPrecision
    /// Each layer's rotary table (Gemma's sliding layers use another base).
    private let ropes: [RopeTable]
    private var buffers = Buffers(tokens: 0, config: nil)

    /// - Parameters:
    ///   - contextLength: positions the KV cache holds (at most the model's context length).
    ///   - threads: worker threads for matmuls and attention.
    ///   - precision: the matmul inputs' quantization; `.adaptive` (the default) is faster
    ///     where several tokens share a pass, `.fine` closer to a float computation.
    public init(weights: ModelWeights, contextLength: Int, threads: Int, precision: InputPrecision = .adaptive) {
        let c = weights.config
        precondition(contextLength >= 1 && contextLength <= c.contextLength, "context length out of range")
        self.weights = weights
        self.config = c
        self.cache = KVCache(layers: c.layers, capacity: contextLength, heads: c.kvHeads, headDim: c.headDim)
        self.pool = WorkerPool(threads: threads)
        self.precision = precision
        let tables = Dictionary(uniqueKeysWithValues: c.ropeBases.map {
            ($0, RopeTable(headDim: c.headDim, theta: $0, pairing: c.pairing, positions: contextLength))
        })
        self.ropes = (0..<c.layers).map { tables[c.ropeTheta(layer: $0)]! }
    }

    /// Runs `tokens` as a causal chain at positions `cache.count ..< cache.count + tokens.count`,
    /// commits their keys and values to the cache, and returns logits (`vocabSize` floats per row).
    public func forward(_ tokens: [Int32], logits rows: LogitRows = .last) throws(ForwardError) -> [Float] {
        let start = cache.count
        let layout = AttentionLayout(causal: tokens.count, start: start)
        let logits = try run(tokens, layout: layout, rows: rows)
        cache.count = start + tokens.count
        return logits
    }

    /// Runs a draft tree in one pass: node `i` has parent `parents[i]` (node 0 is the root,
    /// `parents[0] == -1`, and it follows the committed cache). A node sits at position
    /// `cache.count + depth` and attends to the committed cache and to its own ancestors only.
    /// The nodes' keys and values go to scratch slots after the committed ones; nothing is
    /// committed until `commit(path:)`. Returns the logits of every node.
    public func forward(tree tokens: [Int32], parents: [Int]) throws(ForwardError) -> [Float] {
        guard parents.count == tokens.count, parents.first == -1,
              parents.indices.dropFirst().allSatisfy({ parents[$0] >= 0 && parents[$0] < $0 })
        else { throw .invalidTree }
        return try run(tokens, layout: AttentionLayout(tree: parents, start: cache.count), rows: .all)
    }

    /// Commits a root-to-node path of the last tree (`path[0] == 0`, each node a child of the
    /// one before): moves those nodes' keys and values into consecutive positions after the
    /// committed cache and forgets the rest of the tree.
    public func commit(path: [Int]) {
        let start = cache.count
        precondition(path.first == 0 && start + path.count <= cache.capacity, "not a path of the last tree")
        for (j, node) in path.enumerated() where node != j {
            precondition(node > j, "a path's nodes come in tree order")
            cache.move(from: start + node, to: start + j)
        }
        cache.count = start + path.count
    }

    private func run(_ tokens: [Int32], layout: AttentionLayout, rows: LogitRows) throws(ForwardError) -> [Float] {
        let n = tokens.count
        guard n > 0 else { throw .emptyInput }
        let start = cache.count
        guard start + n <= cache.capacity else { throw .contextFull(needed: start + n, capacity: cache.capacity) }
        for t in tokens where t < 0 || Int(t) >= config.vocabSize {
            throw .tokenOutOfRange(t, vocabSize: config.vocabSize)
        }
        if buffers.tokens < n { buffers = Buffers(tokens: n, config: config) }
        let b = buffers, c = config, d = c.modelDim, eps = Float(c.rmsNormEps)
        let attentionScale = Float(c.attentionScale ?? 1 / Double(c.headDim).squareRoot())
        // One windowed layout serves every sliding layer (Gemma 3 has one window size).
        let windowedLayout = c.slidingWindow.map { layout.windowed($0) }

        for (i, t) in tokens.enumerated() {
            weights.tokenEmbedding.dequantizeRow(Int(t), into: b.x + i * d)
        }
        if let s = c.embeddingScale { scale(b.x, by: Float(s), count: n * d) }
        for (l, layer) in weights.layers.enumerated() {
            // Attention block. Token i's keys and values go to cache slot start + i.
            for i in 0..<n { rmsNorm(b.x + i * d, weight: layer.attentionNorm, out: b.xb + i * d, count: d, eps: eps) }
            matmul([MatmulOutput(layer.query, y: b.q, yStride: c.queryDim),
                    MatmulOutput(layer.key, y: b.k, yStride: c.kvDim),
                    MatmulOutput(layer.value, y: b.v, yStride: c.kvDim)],
                   x: b.xb, xStride: d, columns: n, precision: precision, pool: pool)
            if let queryNorm = layer.queryNorm, let keyNorm = layer.keyNorm {
                normalize(b.q, count: n * c.heads, width: c.headDim, weight: queryNorm, eps: eps)
                normalize(b.k, count: n * c.kvHeads, width: c.headDim, weight: keyNorm, eps: eps)
            }
            for i in 0..<n {
                ropes[l].apply(b.q + i * c.queryDim, heads: c.heads, position: layout.positions[i])
                ropes[l].apply(b.k + i * c.kvDim, heads: c.kvHeads, position: layout.positions[i])
            }
            cache.store(layer: l, position: start, count: n, keys: b.k, values: b.v)
            let sliding = c.window(layer: l) != nil
            attention(layer: l, layout: sliding ? windowedLayout! : layout, tokens: n, scale: attentionScale)
            matmul(layer.attentionOutput, x: b.attention, xStride: c.queryDim, y: b.xb, yStride: d, columns: n, precision: precision, pool: pool)
            if let norm = layer.postAttentionNorm { normalize(b.xb, count: n, width: d, weight: norm, eps: eps) }
            addInPlace(b.x, b.xb, count: n * d)

            // Feed-forward block (SwiGLU, or GeGLU).
            for i in 0..<n { rmsNorm(b.x + i * d, weight: layer.ffnNorm, out: b.xb + i * d, count: d, eps: eps) }
            matmul([MatmulOutput(layer.gate, y: b.gate, yStride: c.ffnDim), MatmulOutput(layer.up, y: b.up, yStride: c.ffnDim)],
                   x: b.xb, xStride: d, columns: n, precision: precision, pool: pool)
            switch c.feedForwardActivation {
            case .silu: siluMultiply(gate: b.gate, up: b.up, count: n * c.ffnDim)
            case .geluTanh: geluMultiply(gate: b.gate, up: b.up, count: n * c.ffnDim)
            }
            matmul(layer.down, x: b.gate, xStride: c.ffnDim, y: b.xb, yStride: d, columns: n, precision: precision, pool: pool)
            if let norm = layer.postFFNNorm { normalize(b.xb, count: n, width: d, weight: norm, eps: eps) }
            addInPlace(b.x, b.xb, count: n * d)
            // Corrupt weights (NaN with a valid checksum) would otherwise decode as garbage or
            // a false end of text; the residual stream carries any NaN to here.
            guard allFinite(b.x, count: n * d) else { throw .nonFinite(layer: l) }
        }

        let first = rows == .last ? n - 1 : 0
        let outRows = n - first
        for i in 0..<outRows {
            rmsNorm(b.x + (first + i) * d, weight: weights.outputNorm, out: b.xb + i * d, count: d, eps: eps)
        }
        let vocab = c.vocabSize
        let logits = [Float](unsafeUninitializedCapacity: outRows * vocab) { out, initialized in
            matmul(weights.output, x: b.xb, xStride: d, y: out.baseAddress!, yStride: vocab, columns: outRows, precision: precision, pool: pool)
            initialized = outRows * vocab
        }
        guard logits.withUnsafeBufferPointer({ allFinite($0.baseAddress!, count: $0.count) }) else { throw .nonFinite(layer: nil) }
        return logits
    }

    /// RMSNorm of `count` consecutive vectors of `width` floats each, in place: the Q/K norms
    /// (one vector a head) and Gemma's post-block norms (one a token).
    private func normalize(_ v: UnsafeMutablePointer<Float>, count: Int, width: Int, weight: UnsafePointer<Float>, eps: Float) {
        for i in 0..<count { rmsNorm(v + i * width, weight: weight, out: v + i * width, count: width, eps: eps) }
    }

    /// Attention for the batch's tokens. A work item is one key/value head and a run of the
    /// batch's tokens; its queries (every token of the run, every query head of the group)
    /// go to `attend` up to `attentionQueriesPerSweep` at a time, and each call sweeps the
    /// keys and values its queries all see once for all of them.
    private func attention(layer l: Int, layout: AttentionLayout, tokens n: Int, scale: Float) {
        let c = config, b = buffers
        let group = c.heads / c.kvHeads
        // Enough runs per head to give every thread work; how queries are grouped never
        // changes what each computes (see `attend`).
        let runs = min(n, max(1, (2 * pool.threads + c.kvHeads - 1) / c.kvHeads))
        let scoreStride = (layout.maxVisible + 15) & ~15
        layout.extra.withUnsafeBufferPointer { extra in
            pool.forEachChunk(of: c.kvHeads * runs) { items in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: attentionQueriesPerSweep * scoreStride) { scores in
                    withUnsafeTemporaryAllocation(of: AttentionQuery.self, capacity: attentionQueriesPerSweep) { batch in
                        for item in items {
                            let g = item / runs, run = item % runs
                            var count = 0
                            func sweep() {
                                attend(UnsafeBufferPointer(rebasing: batch[0..<count]),
                                       keys: cache.keys(layer: l, head: g), values: cache.values(layer: l, head: g), stride: c.headDim,
                                       headDim: c.headDim, scale: scale, scores: scores.baseAddress!, scoreStride: scoreStride)
                                count = 0
                            }
                            for i in (n * run / runs) ..< (n * (run + 1) / runs) {
                                for h in (g * group) ..< ((g + 1) * group) {
                                    let at = i * c.queryDim + h * c.headDim
                                    batch[count] = AttentionQuery(
                                        query: b.q + at, out: b.attention + at, first: layout.first[i], prefix: layout.prefix[i],
                                        extra: UnsafeBufferPointer(rebasing: extra[layout.extraStart[i]..<layout.extraStart[i + 1]]))
                                    count += 1
                                    if count == attentionQueriesPerSweep { sweep() }
                                }
                            }
                            if count > 0 { sweep() }
                        }
                    }
                }
            }
        }
    }
}

/// Activation scratch for up to `tokens` tokens per forward pass.
private final class Buffers: @unchecked Sendable {
    let tokens: Int
    /// `k` and `v` hold the new tokens' keys and values as the projections write them (a
    /// token's heads side by side) until `KVCache.store` files them by head.
    let x, xb, q, k, v, attention, gate, up: UnsafeMutablePointer<Float>

    init(tokens: Int, config c: ModelConfig?) {
        self.tokens = tokens
        let d = c?.modelDim ?? 0, qd = c?.queryDim ?? 0, kvd = c?.kvDim ?? 0, f = c?.ffnDim ?? 0
        x = .allocate(capacity: tokens * d)
        xb = .allocate(capacity: tokens * d)
        q = .allocate(capacity: tokens * qd)
        k = .allocate(capacity: tokens * kvd)
        v = .allocate(capacity: tokens * kvd)
        attention = .allocate(capacity: tokens * qd)
        gate = .allocate(capacity: tokens * f)
        up = .allocate(capacity: tokens * f)
    }

    deinit {
        for p in [x, xb, q, k, v, attention, gate, up] { p.deallocate() }
    }
}
