#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import RecycleArguments
import RecycleDecoding
import RecycleModel
import RecycleTools

/// `recycle generate`: prompt in, streamed text (or one JSON object) out.
struct GenerateCommand {
    static let options: [Arguments.Option] = RunOptions.options + [
        .init(names: ["--prompt", "-p"], kind: .value),
        .init(names: ["--chat"], kind: .flag),
        .init(names: ["--special"], kind: .flag),
        .init(names: ["--max-tokens", "-n"], kind: .value),
        .init(names: ["--json"], kind: .flag),
        .init(names: ["--top-logits"], kind: .value),
    ]

    let args: Arguments

    init(_ args: Arguments) { self.args = args }

    func run() throws {
        if args.has("--help") { try Output.write(usage + "\n"); return }
        guard args.positionals.isEmpty else { throw UsageError("unexpected argument \"\(args.positionals[0])\"") }
        guard let prompt = args.string("--prompt") else { throw UsageError("generate needs --prompt TEXT") }
        let maxTokens = try args.int("--max-tokens", default: 256, in: 0...1 << 20)
        let topLogits = try args.int("--top-logits", default: 0, in: 0...1000)
        let json = args.has("--json")
        if topLogits > 0 && !json { throw UsageError("--top-logits needs --json") }
        if args.string("--system") != nil && !args.has("--chat") { throw UsageError("--system needs --chat") }
        if args.has("--special") && args.has("--chat") {
            throw UsageError("--special is for raw prompts; with --chat, the message is always plain text")
        }
        let run = try RunOptions(args)
        if run.seedWasChosen && !json, case let .random(_, _, seed) = run.sampler { Output.log("seed: \(seed)") }

        let model = run.model
        let promptTokens = model.tokenizer.encode(try promptPieces(prompt, run: run))
        guard !promptTokens.isEmpty else { throw UsageError("the prompt is empty") }
        let limit = model.config.contextLength
        let context = try args.int("--context", default: min(limit, promptTokens.count + max(maxTokens, 1)), in: 1...limit)
        guard promptTokens.count + max(maxTokens, 1) - 1 <= context else {
            throw Failure("the prompt (\(promptTokens.count) tokens) plus --max-tokens \(maxTokens) needs \(promptTokens.count + maxTokens - 1) positions, but the context holds \(context)")
        }

        try run.checkContext(context)
        installInterruptHandler()
        let generator = Generator(model: model, contextLength: context, threads: run.threads)
        var stream = StreamingDecoder(tokenizer: model.tokenizer)
        var sink = TextSink()
        let stops = model.stopTokens
        let result: GenerationResult
        run.trace?.begin(model: run.modelPath, drafter: run.drafter, sampler: run.sampler, prompt: promptTokens)
        do {
            result = try generator.generate(prompt: promptTokens, maxTokens: maxTokens, sampler: run.sampler,
                                            drafter: run.drafter, topLogits: topLogits, onToken: { token in
                guard !json, !stops.contains(token) else { return }
                sink.write(stream.append(token))
            }, onStep: run.stepObserver())
        } catch {
            throw Failure(error.description)
        }
        run.trace?.end(result, text: model.tokenizer.decode(result.tokens.filter { !stops.contains($0) }))
        // Saved before the output's fate is known: a closed pipe must not lose the state.
        try run.saveState()
        if json {
            try Output.write(report(result, run: run).text + "\n")
        } else {
            sink.write(stream.finish() + "\n")
            Output.log(summary(result, run: run))
            try sink.check()
        }
        try run.checkTrace()
    }

    /// The prompt as the model sees it: raw, or rendered with the chat template. A raw prompt
    /// is plain text unless `--special` lets marker text in it become control tokens (the
    /// user then writes the whole prompt, template included); a chat message is always text.
    private func promptPieces(_ prompt: String, run: RunOptions) throws -> [PromptPiece] {
        guard args.has("--chat") else { return [PromptPiece(prompt, parsesSpecialTokens: args.has("--special"))] }
        guard let template = run.model.chatTemplate else { throw Failure("this model has no chat template; run without --chat") }
        let (system, fallback) = run.systemPrompt(args)
        let messages = (system.map { [$0] } ?? []) + [ChatMessage(role: "user", content: prompt)]
        return template.pieces(messages, defaultSystemPrompt: fallback, addGenerationPrompt: true)
    }

    private func report(_ r: GenerationResult, run: RunOptions) -> JSON {
        let stops = run.model.stopTokens
        var fields: [(String, JSON)] = [
            ("prompt_tokens", .ints(r.promptTokens)),
            ("tokens", .ints(r.tokens)),
            ("text", .string(run.model.tokenizer.decode(r.tokens.filter { !stops.contains($0) }))),
            ("stop_reason", .string(r.stopReason.rawValue)),
            ("timings", .object([
                ("prefill_ms", .number(r.prefillSeconds * 1000)),
                ("decode_ms", .number(r.decodeSeconds * 1000)),
                ("tokens_per_second", .number(r.tokensPerSecond)),
            ])),
            ("threads", .int(run.threads)),
            ("drafter", .string(run.drafter.name)),
            ("cache", run.cache.map { .string($0.directory) } ?? .null),
            ("forward_passes", .int(r.forwardPasses)),
            ("verified_nodes", .int(r.verifiedNodes)),
            ("mean_accepted", .number(r.meanAccepted)),
            ("accept_histogram", .ints(r.acceptHistogram.dropFirst().map { $0 })),
        ]
        fields += run.drafter.settings.map { ($0.name, .string($0.value)) }
        if case let .random(temperature, topP, seed) = run.sampler {
            fields.append(("sampling", .object([
                ("temperature", .number(Double(temperature))), ("top_p", .number(Double(topP))),
                ("seed", .number(Double(seed))),
            ])))
        }
        if !r.steps.isEmpty {
            fields.append(("steps", .array(r.steps.map { .object([("ids", .ints($0.ids)), ("logits", .floats($0.logits))]) })))
        }
        return .object(fields)
    }
}

/// One line for stderr: speed and, when drafting, how many tokens each pass confirmed and
/// its verified nodes per pass.
func summary(_ r: GenerationResult, run: RunOptions) -> String {
    let reused = r.reusedTokens > 0 ? " (\(r.reusedTokens) cached)" : ""
    var line = "prompt \(r.promptTokens.count) tokens\(reused) in \(fixed(r.prefillSeconds * 1000, 1)) ms; "
        + "generated \(r.tokens.count) tokens in \(fixed(r.decodeSeconds * 1000, 1)) ms at \(fixed(r.tokensPerSecond, 2)) tok/s; "
        + "stop: \(r.stopReason.rawValue); \(run.threads) threads"
    if run.drafter.drafts {
        line += "; drafter \(run.drafter.name): \(r.forwardPasses) passes, \(fixed(r.meanAccepted, 2)) tokens per pass, "
            + "\(fixed(Double(r.verifiedNodes) / Double(max(r.forwardPasses, 1)), 2)) nodes verified per pass"
    }
    return line
}
