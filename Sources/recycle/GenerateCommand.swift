import Foundation
import RecycleDecoding
import RecycleModel

/// `recycle generate`: prompt in, streamed text (or one JSON object) out.
struct GenerateCommand {
    static let options: [Arguments.Option] = [
        .init(names: ["--model", "-m"], kind: .value),
        .init(names: ["--prompt", "-p"], kind: .value),
        .init(names: ["--chat"], kind: .flag),
        .init(names: ["--system"], kind: .value),
        .init(names: ["--max-tokens", "-n"], kind: .value),
        .init(names: ["--context", "-c"], kind: .value),
        .init(names: ["--threads", "-t"], kind: .value),
        .init(names: ["--temp"], kind: .value),
        .init(names: ["--top-p"], kind: .value),
        .init(names: ["--seed"], kind: .value),
        .init(names: ["--json"], kind: .flag),
        .init(names: ["--top-logits"], kind: .value),
        .init(names: ["--help", "-h"], kind: .flag),
    ]

    let args: Arguments

    init(_ args: Arguments) { self.args = args }

    func run() throws(CLIError) {
        if args.has("--help") { print(usage); return }
        guard args.positionals.isEmpty else { throw .usage("unexpected argument \"\(args.positionals[0])\"") }
        guard let prompt = args.string("--prompt") else { throw .usage("generate needs --prompt TEXT") }
        let maxTokens = try args.int("--max-tokens", default: 256, in: 0...1 << 20)
        let threads = try args.int("--threads", default: ProcessInfo.processInfo.activeProcessorCount, in: 1...1024)
        let temperature = try args.float("--temp", default: 0, in: 0...100)
        let topP = try args.float("--top-p", default: 0.95, in: 0...1)
        let topLogits = try args.int("--top-logits", default: 0, in: 0...1000)
        let json = args.has("--json")
        if topLogits > 0 && !json { throw .usage("--top-logits needs --json") }
        if args.string("--system") != nil && !args.has("--chat") { throw .usage("--system needs --chat") }
        let sampler: Sampler
        if temperature > 0 {
            let seed = try UInt64(args.int("--seed", default: Int(Date().timeIntervalSince1970 * 1000), in: 0...Int.max))
            if !json && args.string("--seed") == nil { log("seed: \(seed)") }
            sampler = .random(temperature: temperature, topP: topP, seed: seed)
        } else {
            if args.string("--seed") != nil || args.string("--top-p") != nil { throw .usage("--seed and --top-p need --temp > 0") }
            sampler = .greedy
        }

        var path = args.string("--model") ?? ""
        if path.isEmpty {
            do { path = try DefaultModel.locate() } catch { throw .failure(error.description) }
        }
        let model: Model
        do { model = try Model(path: path) } catch { throw .failure(error.description) }
        let text = try promptText(prompt, model: model)
        let promptTokens = model.tokenizer.encode(text)
        guard !promptTokens.isEmpty else { throw .usage("the prompt is empty") }
        let limit = model.config.contextLength
        let context = try args.int("--context", default: min(limit, promptTokens.count + max(maxTokens, 1)), in: 1...limit)
        guard promptTokens.count + max(maxTokens, 1) - 1 <= context else {
            throw .failure("the prompt (\(promptTokens.count) tokens) plus --max-tokens \(maxTokens) needs \(promptTokens.count + maxTokens - 1) positions, but the context holds \(context)")
        }

        installInterruptHandler()
        let generator = Generator(model: model, contextLength: context, threads: threads)
        var stream = StreamingDecoder(tokenizer: model.tokenizer)
        let stops = model.stopTokens
        let result: GenerationResult
        do {
            result = try generator.generate(prompt: promptTokens, maxTokens: maxTokens, sampler: sampler, topLogits: topLogits) { token in
                guard !json, !stops.contains(token) else { return }
                write(stream.append(token))
            }
        } catch {
            throw .failure(error.description)
        }
        if json {
            print(report(result, model: model, sampler: sampler, threads: threads).text)
        } else {
            write(stream.finish() + "\n")
            log(String(format: "prompt %d tokens in %.1f ms (%.1f tok/s); generated %d tokens, %.2f tok/s decode; stop: %@; %d threads",
                       result.promptTokens.count, result.prefillSeconds * 1000,
                       Double(result.promptTokens.count) / max(result.prefillSeconds, 1e-9),
                       result.tokens.count, result.tokensPerSecond, result.stopReason.rawValue, threads))
        }
    }

    /// The prompt as the model sees it: raw, or rendered with the chat template.
    private func promptText(_ prompt: String, model: Model) throws(CLIError) -> String {
        guard args.has("--chat") else { return prompt }
        guard let template = model.chatTemplate else { throw .failure("this model has no chat template; run without --chat") }
        var messages: [ChatMessage] = []
        var systemPrompt = model.defaultSystemPrompt
        if let system = args.string("--system") {
            if system == "none" { systemPrompt = nil } else { messages.append(ChatMessage(role: "system", content: system)) }
        }
        messages.append(ChatMessage(role: "user", content: prompt))
        return template.render(messages, defaultSystemPrompt: systemPrompt, addGenerationPrompt: true)
    }

    private func report(_ r: GenerationResult, model: Model, sampler: Sampler, threads: Int) -> JSON {
        let stops = model.stopTokens
        let visible = r.tokens.filter { !stops.contains($0) }
        var fields: [(String, JSON)] = [
            ("prompt_tokens", .ints(r.promptTokens)),
            ("tokens", .ints(r.tokens)),
            ("text", .string(model.tokenizer.decode(visible))),
            ("stop_reason", .string(r.stopReason.rawValue)),
            ("timings", .object([
                ("prefill_ms", .number(r.prefillSeconds * 1000)),
                ("decode_ms", .number(r.decodeSeconds * 1000)),
                ("tokens_per_second", .number(r.tokensPerSecond)),
            ])),
            ("threads", .int(threads)),
        ]
        if case let .random(temperature, topP, seed) = sampler {
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

func write(_ text: String) {
    guard !text.isEmpty else { return }
    FileHandle.standardOutput.write(Data(text.utf8))
}

func log(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// First Ctrl-C: finish the current token and stop cleanly; a second one exits at once.
func installInterruptHandler() {
    signal(SIGINT) { _ in
        if Interrupt.requested.exchange(true, ordering: .relaxed) { _exit(130) }
    }
}
