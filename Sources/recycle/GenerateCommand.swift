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
        .init(names: ["--file", "-f"], kind: .value),
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
        let prompt = try promptText()
        let maxTokens = try args.int("--max-tokens", default: 256, in: 0...1 << 20)
        let topLogits = try args.int("--top-logits", default: 0, in: 0...1000)
        let json = args.has("--json")
        if topLogits > 0 && !json { throw UsageError("--top-logits needs --json") }
        if args.string("--system") != nil && !args.has("--chat") { throw UsageError("--system needs --chat") }
        if args.has("--special") && args.has("--chat") {
            throw UsageError("--special is for raw prompts; with --chat, the message is always plain text")
        }
        let run = try RunOptions(args)
        if run.seedWasChosen && !json, case let .random(_, _, seed, _, _) = run.sampler { Output.log("seed: \(seed)") }

        let model = run.model
        let promptTokens = model.tokenizer.encode(try promptPieces(prompt, run: run))
        guard !promptTokens.isEmpty else { throw UsageError("the prompt is empty") }
        let limit = model.config.contextLength
        let context = try args.int("--context", default: min(limit, promptTokens.count + max(maxTokens, 1)), in: 1...limit)
        guard promptTokens.count + max(maxTokens, 1) - 1 <= context else {
            throw Failure("the prompt (\(promptTokens.count) tokens) plus --max-tokens \(maxTokens) needs \(promptTokens.count + maxTokens - 1) positions, but the context holds \(context)")
        }

        installInterruptHandler()
        let generator = try run.generator(context: context)
        var sink = TextSink()
        var text = "", stream = GeneratedText(model: model, stopStrings: run.stops)
        let result: GenerationResult
        run.trace?.begin(model: run.modelPath, drafter: run.drafter, sampler: run.sampler, prompt: promptTokens)
        do {
            result = try generator.generate(prompt: promptTokens, maxTokens: maxTokens, sampler: run.sampler,
                                            drafter: run.drafter, topLogits: topLogits, onToken: { token in
                let shown = stream.append(token)
                text += shown
                if !json { sink.write(shown) }
            }, onStep: run.stepObserver(), isCancelled: { stream.stopped || Interrupt.requested.load(ordering: .relaxed) })
        } catch {
            throw Failure(error.description)
        }
        let rest = stream.finish()
        text += rest
        run.trace?.end(result, text: text)
        // Saved before the output's fate is known: a closed pipe must not lose the state.
        try run.saveState()
        let stopReason = Interrupt.reason(result, stopString: stream.stopped)
        if json {
            try Output.write(report(result, text: text, stopReason: stopReason, run: run).text + "\n")
        } else {
            sink.write(rest + "\n")
            Output.log(summary(result, stopReason: stopReason, run: run))
            try sink.check()
        }
        try run.checkTrace()
    }

    /// `--prompt TEXT`, or `--file FILE` (`-` for standard input), which must be UTF-8.
    private func promptText() throws -> String {
        switch (args.string("--prompt"), args.string("--file")) {
        case let (text?, nil): return text
        case let (nil, path?):
            let bytes: [UInt8]
            if path == "-" {
                bytes = try readStandardInput()
            } else {
                do { bytes = try AtomicFile.read(path: path) } catch { throw Failure("cannot read the prompt: \(error)") }
            }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw Failure("the prompt \(path == "-" ? "on standard input" : path) is not valid UTF-8")
            }
            return text
        case (nil, nil): throw UsageError("generate needs --prompt TEXT or --file FILE (- for standard input)")
        case (_?, _?): throw UsageError("--prompt and --file are two prompts; give one")
        }
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

    private func report(_ r: GenerationResult, text: String, stopReason: String, run: RunOptions) -> JSON {
        var fields: [(String, JSON)] = [
            ("prompt_tokens", .ints(r.promptTokens)),
            ("tokens", .ints(r.tokens)),
            ("text", .string(text)),
            ("stop_reason", .string(stopReason)),
            ("timings", .object([
                ("load_ms", .number(run.loadSeconds * 1000)),
                ("prefill_ms", .number(r.prefillSeconds * 1000)),
                ("prompt_tokens_per_second", .number(r.prefillTokensPerSecond)),
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
        if case let .random(temperature, topP, seed, topK, minP) = run.sampler {
            fields.append(("sampling", .object([
                ("temperature", .number(Double(temperature))), ("top_p", .number(Double(topP))),
                ("top_k", .int(topK)), ("min_p", .number(Double(minP))), ("seed", .number(Double(seed))),
            ])))
        }
        if !r.steps.isEmpty {
            fields.append(("steps", .array(r.steps.map { .object([("ids", .ints($0.ids)), ("logits", .floats($0.logits))]) })))
        }
        return .object(fields)
    }
}

/// One line for stderr: load time, prompt and generation speed and, when drafting, how many
/// tokens each pass confirmed (MAT) and its verified nodes per pass.
func summary(_ r: GenerationResult, stopReason: String, run: RunOptions, loaded: Bool = true) -> String {
    let reused = r.reusedTokens > 0 ? " (\(r.reusedTokens) cached)" : ""
    var line = loaded ? "load \(fixed(run.loadSeconds * 1000, 1)) ms; " : ""
    line += "prompt \(r.promptTokens.count) tokens\(reused) in \(fixed(r.prefillSeconds * 1000, 1)) ms "
        + "(\(fixed(r.prefillTokensPerSecond, 1)) tok/s); "
        + "generated \(r.tokens.count) tokens in \(fixed(r.decodeSeconds * 1000, 1)) ms at \(fixed(r.tokensPerSecond, 2)) tok/s; "
        + "stop: \(stopReason); \(run.threads) threads"
    if run.drafter.drafts {
        line += "; drafter \(run.drafter.name): \(r.forwardPasses) passes, \(fixed(r.meanAccepted, 2)) tokens per pass, "
            + "\(fixed(Double(r.verifiedNodes) / Double(max(r.forwardPasses, 1)), 2)) nodes verified per pass"
    }
    return line
}

/// Standard input to its end (a prompt given as `-f -`), at most 64 MB.
private func readStandardInput() throws -> [UInt8] {
    var bytes: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if n == 0 { return bytes }
        if n < 0 {
            if errno == EINTR { continue }
            throw Failure("cannot read the prompt from standard input: \(String(cString: strerror(errno)))")
        }
        bytes += chunk[..<n]
        guard bytes.count <= 64 << 20 else { throw Failure("the prompt on standard input is over 64 MB") }
    }
}
