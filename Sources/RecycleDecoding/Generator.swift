import Foundation
import RecycleModel
import Synchronization

/// Why a generation ended.
public enum StopReason: String, Sendable {
    case eos
    case maxTokens = "max_tokens"
    /// The user pressed Ctrl-C (see `Interrupt`); what was generated so far is kept.
    case interrupted
}

/// The top candidates of one generated step, for `--top-logits`.
public struct TopLogits: Sendable {
    public var ids: [Int32]
    public var logits: [Float]
}

public struct GenerationResult: Sendable {
    public var promptTokens: [Int32]
    public var tokens: [Int32] = []
    public var stopReason: StopReason = .maxTokens
    /// Top-K candidates per generated token (empty unless requested).
    public var steps: [TopLogits] = []
    /// Time of the forward pass over the prompt.
    public var prefillSeconds: Double = 0
    /// Time of the forward passes over generated tokens (one per token after the first).
    public var decodeSeconds: Double = 0
    public var decodePasses = 0

    /// Decode speed: generated tokens fed back through the model per second.
    public var tokensPerSecond: Double { decodeSeconds > 0 ? Double(decodePasses) / decodeSeconds : 0 }
}

/// Set from a SIGINT handler; generation loops check it between tokens.
public enum Interrupt {
    public static let requested = Atomic<Bool>(false)
}

/// Plain autoregressive decoding: one forward pass per token.
public final class Generator {
    public let model: Model
    public let transformer: Transformer

    public init(model: Model, contextLength: Int, threads: Int) {
        self.model = model
        self.transformer = Transformer(weights: model.weights, contextLength: contextLength, threads: threads)
    }

    /// Runs the prompt, then generates up to `maxTokens` tokens, calling `onToken` with each
    /// as soon as it is chosen (the stop token included). The cache starts empty.
    public func generate(
        prompt: [Int32], maxTokens: Int, sampler: Sampler, topLogits: Int = 0,
        onToken: (Int32) -> Void = { _ in }
    ) throws(ForwardError) -> GenerationResult {
        transformer.cache.truncate(to: 0)
        var result = GenerationResult(promptTokens: prompt)
        guard maxTokens > 0 else { return result }
        // The prompt plus every generated token but the last must fit in the cache.
        let needed = prompt.count + maxTokens - 1
        if needed > transformer.cache.capacity { throw .contextFull(needed: needed, capacity: transformer.cache.capacity) }

        var picker = TokenPicker(sampler)
        let stops = model.stopTokens
        var clock = ContinuousClock.now
        var logits = try transformer.forward(prompt, logits: .last)
        result.prefillSeconds = clock.secondsSinceNow()

        while true {
            let token = logits.withUnsafeBufferPointer { row in
                if topLogits > 0 {
                    let top = topK(row, k: topLogits)
                    result.steps.append(TopLogits(ids: top.map { Int32($0.id) }, logits: top.map(\.value)))
                }
                return picker.pick(from: row)
            }
            result.tokens.append(token)
            onToken(token)
            if stops.contains(token) { result.stopReason = .eos; break }
            if result.tokens.count >= maxTokens { result.stopReason = .maxTokens; break }
            if Interrupt.requested.load(ordering: .relaxed) { result.stopReason = .interrupted; break }
            clock = .now
            logits = try transformer.forward([token], logits: .last)
            result.decodeSeconds += clock.secondsSinceNow()
            result.decodePasses += 1
        }
        return result
    }
}

extension ContinuousClock.Instant {
    func secondsSinceNow() -> Double {
        let d = duration(to: .now)
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
