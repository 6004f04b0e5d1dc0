#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import RecycleModel

/// Why a generation ended.
public enum StopReason: String, Sendable {
    /// The model produced a stop token (`Model.stopTokens`), which is kept as the last token.
    case eos
    /// The requested number of tokens was generated.
    case maxTokens = "max_tokens"
    /// The caller's `isCancelled` said so (Ctrl-C, a client that went away, a stop string);
    /// what was generated so far is kept.
    case cancelled
}

/// The top candidates of one generated step, for `--top-logits`.
public struct TopLogits: Sendable {
    /// Token ids, most likely first.
    public var ids: [Int32]
    /// The logit of each of `ids`, in the same order.
    public var logits: [Float]
}

/// What one `Generator.generate` call produced, why it stopped, and how long it took.
public struct GenerationResult: Sendable {
    /// The prompt as given.
    public var promptTokens: [Int32]
    /// Prompt tokens whose keys and values were already cached (an earlier turn's).
    public var reusedTokens = 0
    /// The generated tokens, a final stop token included.
    public var tokens: [Int32] = []
    /// Why generation ended.
    public var stopReason: StopReason = .maxTokens
    /// Top-K candidates per generated token (empty unless requested).
    public var steps: [TopLogits] = []
    /// Time of the forward pass over the prompt (all of it but its last token, which is the
    /// first step's root), with the drafter's preparation for it (a cold start's reset and
    /// seeding).
    public var prefillSeconds: Double = 0
    /// Time from the end of the prefill to the last token: the decoding steps, drafting,
    /// verification passes and the drafter's learning included. Everything the user waits
    /// for after the prompt is in, so speeds computed from it are honest.
    public var decodeSeconds: Double = 0
    /// Decoding steps: forward passes after the prefill, one per verified tree.
    public var forwardPasses = 0
    /// Tree nodes verified over all decoding steps, roots included (`forwardPasses` when
    /// nothing was drafted).
    public var verifiedNodes = 0
    /// `acceptHistogram[n]`: steps that produced `n` tokens (index 0 unused).
    public var acceptHistogram: [Int] = []

    /// Prompt tokens computed (not taken from the cache) per second of prefill.
    public var prefillTokensPerSecond: Double {
        prefillSeconds > 0 ? Double(max(promptTokens.count - 1 - reusedTokens, 0)) / prefillSeconds : 0
    }
    /// Generated tokens per second of decoding.
    public var tokensPerSecond: Double { decodeSeconds > 0 ? Double(tokens.count) / decodeSeconds : 0 }
    /// Mean accepted tokens per step (MAT), counting the token each pass adds itself.
    public var meanAccepted: Double { forwardPasses > 0 ? Double(tokens.count) / Double(forwardPasses) : 0 }
}

/// The decoding loop: plain or speculative, greedy or sampled.
///
/// Every step verifies a draft tree rooted at the last chosen token (a lone root when the
/// drafter has nothing, which is exactly plain decoding), walks the tree along the model's
/// own choices, commits the accepted path to the KV cache and emits the accepted tokens plus
/// the model's next one. With batch-invariant kernels, the emitted tokens are bit for bit
/// those of plain decoding, greedy or sampled with the same seed, whatever the drafter
/// proposes (see `verify`).
public final class Generator {
    /// The model generated from.
    public let model: Model
    /// The forward pass and its KV cache, which later generations reuse (a chat's next turn).
    public let transformer: Transformer
    /// The tokens whose keys and values are in the cache, in order. A new prompt that starts
    /// with them (the next turn of a chat) reuses them instead of recomputing.
    public private(set) var cachedTokens: [Int32] = []
    /// The cache's revision when `cachedTokens` was last brought in line with it.
    private var cachedRevision: UInt64 = 0

    /// Prompt tokens per prefill pass: about a second of work on a small CPU, the longest an
    /// `isCancelled` waits during a prefill.
    static let prefillChunk = 128

    /// Why a generator cannot be made: the context asked for.
    public enum SetupError: Error, Equatable, CustomStringConvertible {
        /// Outside 1 ... the model's context length.
        case contextOutOfRange(requested: Int, limit: Int)
        /// More memory than the machine has, for the KV cache.
        case contextTooLarge(ContextBudget.TooLarge)

        public var description: String {
            switch self {
            case let .contextOutOfRange(requested, limit): "a context of \(requested) positions: the model allows 1 to \(limit)"
            case let .contextTooLarge(error): error.description
            }
        }
    }

    /// A generator with a KV cache of `contextLength` positions (prompt and generated tokens
    /// together, over all generations that reuse it) and `threads` worker threads. A context
    /// the model or this machine's memory cannot hold is an error, before anything is
    /// allocated.
    public init(model: Model, contextLength: Int, threads: Int) throws(SetupError) {
        let limit = model.config.contextLength
        guard (1...limit).contains(contextLength) else { throw .contextOutOfRange(requested: contextLength, limit: limit) }
        do { try ContextBudget.check(config: model.config, positions: contextLength) } catch { throw .contextTooLarge(error) }
        self.model = model
        self.transformer = Transformer(weights: model.weights, contextLength: contextLength, threads: max(threads, 1))
    }

    /// Generates up to `maxTokens` tokens after `prompt`, calling `onToken` with each as soon as
    /// it is known (the stop token included), and `onStep`, if given, with each step as it
    /// ends (after its tokens). With any drafter, the tokens are those of plain decoding with
    /// the same sampler (and seed), token for token; observing steps changes none of them.
    /// `isCancelled` is asked between steps and between prefill chunks: true ends this
    /// generation (`StopReason.cancelled`), keeping what it produced.
    public func generate(
        prompt: [Int32], maxTokens: Int, sampler: Sampler, drafter: Drafter = NoDrafter(),
        topLogits: Int = 0, onToken: (Int32) -> Void = { _ in }, onStep: ((StepReport) -> Void)? = nil,
        isCancelled: () -> Bool = { false }
    ) throws(ForwardError) -> GenerationResult {
        guard !prompt.isEmpty else { throw .emptyInput }
        var result = GenerationResult(promptTokens: prompt)
        guard maxTokens > 0 else { return result }
        let capacity = transformer.cache.capacity
        let needed = prompt.count + maxTokens - 1
        if needed > capacity { throw .contextFull(needed: needed, capacity: capacity) }

        // Reuse the cached prefix (unless someone else changed the cache since), then prefill
        // all of the prompt but its last token.
        let stops = model.stopTokens
        if transformer.cache.revision != cachedRevision { cachedTokens = [] }
        var reused = zip(cachedTokens, prompt.dropLast()).prefix { $0 == $1 }.count
        reused = min(reused, prompt.count - 1)
        transformer.cache.truncate(to: reused)
        cachedTokens.removeLast(cachedTokens.count - reused)
        result.reusedTokens = reused
        let clock = ContinuousClock()
        let prefillStart = clock.now
        drafter.begin(context: prompt)
        // In chunks, so that a cancellation during a long prompt is seen within one chunk;
        // the kernels are batch-invariant, so chunking changes no value.
        for start in stride(from: reused, to: prompt.count - 1, by: Self.prefillChunk) {
            if start > reused && isCancelled() {
                result.stopReason = .cancelled
                result.prefillSeconds = prefillStart.duration(to: clock.now).seconds
                cachedRevision = transformer.cache.revision
                return result
            }
            let chunk = Array(prompt[start..<min(start + Self.prefillChunk, prompt.count - 1)])
            if drafter.learnsFromPrompt {
                let logits = try transformer.forward(chunk, logits: .all)
                drafter.observePrompt(tokens: chunk, candidates: candidates(logits, rows: chunk.count, k: drafter.candidatesPerNode))
            } else {
                _ = try transformer.forward(chunk, logits: .last)
            }
            cachedTokens += chunk
        }
        result.prefillSeconds = prefillStart.duration(to: clock.now).seconds

        var picker = TokenPicker(sampler)
        var root = prompt[prompt.count - 1]
        let decodeStart = clock.now
        while true {
            let draftStart = clock.now
            var tree = drafter.draft(root: root, context: cachedTokens + [root])
            tree = tree.prefix(min(tree.count, capacity - transformer.cache.count))
            // Read now: the drafter's next `observe` moves its cost curve.
            let sizing = onStep == nil ? nil : drafter.lastSizing
            let passStart = clock.now, context = transformer.cache.count
            let logits = try transformer.forward(tree: tree.tokens, parents: tree.parents)
            let passSeconds = passStart.duration(to: clock.now).seconds
            result.forwardPasses += 1
            result.verifiedNodes += tree.count
            let step = verify(tree, logits: logits, picker: &picker)
            transformer.commit(path: step.path)
            cachedTokens += step.path.map { tree.tokens[$0] }

            let k = drafter.candidatesPerNode
            drafter.observe(Verification(tree: tree, acceptedPath: step.path, produced: step.produced,
                                         candidates: k > 0 ? candidates(logits, rows: tree.count, k: k) : [],
                                         candidatesPerNode: k, context: context, seconds: passSeconds))
            var emitted = 0, finished = false
            for (j, token) in step.produced.enumerated() where !finished {
                if topLogits > 0 { result.steps.append(top(logits, row: step.path[j], k: topLogits)) }
                result.tokens.append(token)
                emitted += 1
                onToken(token)
                if stops.contains(token) {
                    result.stopReason = .eos
                    finished = true
                } else if result.tokens.count >= maxTokens {
                    result.stopReason = .maxTokens
                    finished = true
                }
            }
            record(emitted, in: &result.acceptHistogram)
            if let onStep {
                onStep(StepReport(tree: tree, context: context, acceptedPath: step.path, choices: step.produced,
                                  produced: Array(step.produced.prefix(emitted)), rewrites: drafter.lastRewrites,
                                  sizing: sizing, draftSeconds: draftStart.duration(to: passStart).seconds,
                                  passSeconds: passSeconds))
            }
            if finished { break }
            if isCancelled() { result.stopReason = .cancelled; break }
            root = step.produced[step.produced.count - 1]
        }
        result.decodeSeconds = decodeStart.duration(to: clock.now).seconds
        cachedRevision = transformer.cache.revision
        return result
    }

    /// Follows the model's choices down the tree from the root: while the chosen token is a
    /// drafted child, accept that child and continue from it.
    ///
    /// This is what makes sampling lossless too. The picker draws once per produced token, in
    /// order, from the same random stream plain sampling would use, and each node's logits
    /// are bit for bit those of the same token decoded alone (batch-invariant kernels). So
    /// every draw sees the same logits and the same random number as in plain sampling, and
    /// picks the same token; a drafted child is accepted only when it equals that token.
    private func verify(_ tree: DraftTree, logits: [Float], picker: inout TokenPicker) -> (path: [Int], produced: [Int32]) {
        var path = [0], produced: [Int32] = []
        logits.withUnsafeBufferPointer { all in
            var node = 0
            while true {
                let choice = picker.pick(from: row(node, of: all))
                produced.append(choice)
                guard let child = tree.parents.indices.first(where: { tree.parents[$0] == node && tree.tokens[$0] == choice })
                else { break }
                path.append(child)
                node = child
            }
        }
        return (path, produced)
    }

    /// The top-`k` ids of each of the first `rows` rows of logits, row after row.
    private func candidates(_ logits: [Float], rows: Int, k: Int) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(rows * k)
        logits.withUnsafeBufferPointer { all in
            for r in 0..<rows { out += topK(row(r, of: all), k: k).map { Int32($0.id) } }
        }
        return out
    }

    private func top(_ logits: [Float], row r: Int, k: Int) -> TopLogits {
        let best = logits.withUnsafeBufferPointer { topK(row(r, of: $0), k: k) }
        return TopLogits(ids: best.map { Int32($0.id) }, logits: best.map(\.value))
    }

    /// Row `r` (one token's logits) of a block of rows.
    private func row(_ r: Int, of all: UnsafeBufferPointer<Float>) -> UnsafeBufferPointer<Float> {
        let vocab = model.config.vocabSize
        return UnsafeBufferPointer(rebasing: all[(r * vocab)..<((r + 1) * vocab)])
    }
}

private func record(_ n: Int, in histogram: inout [Int]) {
    if histogram.count <= n { histogram += [Int](repeating: 0, count: n + 1 - histogram.count) }
    histogram[n] += 1
}

extension Duration {
    /// The duration in seconds, fractions included.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
