import RecycleArguments
import RecycleDecoding
import RecycleModel

/// `recycle-bench decode`: plain greedy decoding speed after a chat prompt, and prefill
/// speed of a long prompt, each the median of several runs.
struct DecodeBench {
    static let options: [Arguments.Option] = [
        Options.model, Options.threads, Options.runs, Options.json, .init(names: ["--max-tokens", "-n"], kind: .value), .init(names: ["--prefill"], kind: .value),
    ]

    struct Report: Encodable {
        let machine: Machine
        let threads: Int
        let generated_tokens: Int
        let tokens_per_second: Stats
        let tokens_per_second_median: Double
        let prefill_tokens: Int
        let prefill_tokens_per_second: Stats
    }

    let path: String, threads: Int, runs: Int, maxTokens: Int, prefill: Int, json: Bool

    init(_ o: Options) throws {
        path = try o.modelPath()
        threads = try o.int("--threads", default: 1, in: 1...256)
        runs = try o.int("--runs", default: 3, in: 1...1000)
        maxTokens = try o.int("--max-tokens", default: 128, in: 2...4096)
        prefill = try o.int("--prefill", default: 512, in: 1...8192)
        json = o.has("--json")
    }

    func run() throws {
        let model: Model
        do { model = try Model(path: path) } catch { throw Failure(error.description) }
        // The README's baseline prompt, in the chat template as `recycle generate --chat` sends it.
        let request = [ChatMessage(role: "user", content: "Write a short story about a robot learning to paint.")]
        let text = model.chatTemplate?.render(request, defaultSystemPrompt: model.defaultSystemPrompt, addGenerationPrompt: true)
        let prompt = model.tokenizer.encode(text ?? request[0].content)
        let long = syntheticTokens(model, count: prefill)
        guard max(prompt.count + maxTokens, prefill) <= model.config.contextLength else {
            throw UsageError("the prompt plus --max-tokens, or --prefill, exceeds the model's context")
        }
        let generator = Generator(model: model, contextLength: max(prompt.count + maxTokens, prefill), threads: threads)
        var decode: [Double] = [], prefillRates: [Double] = [], generated = 0
        do {
            for _ in 0..<runs {
                let result = try generator.generate(prompt: prompt, maxTokens: maxTokens, sampler: .greedy)
                decode.append(result.tokensPerSecond)
                generated = result.tokens.count
                generator.transformer.cache.truncate(to: 0)
                let t = try seconds { _ = try generator.transformer.forward(long, logits: .last) }
                prefillRates.append(Double(prefill) / t)
            }
        } catch {
            throw Failure("\(error)")
        }
        let machine = Machine(threads: threads)
        let d = Stats(decode), p = Stats(prefillRates)
        if json {
            printJSON(Report(machine: machine, threads: threads, generated_tokens: generated, tokens_per_second: d,
                             tokens_per_second_median: d.median, prefill_tokens: prefill, prefill_tokens_per_second: p))
            return
        }
        print(machine.markdown)
        print("Greedy decode of \(generated) tokens after a \(prompt.count)-token chat prompt; prefill of \(prefill) tokens; median (min–max) of \(runs) runs\n")
        printTable(["measure", "tokens/s"], [
            ["decode", "\(format(d.median, 1)) (\(format(d.min, 1))–\(format(d.max, 1)))"],
            ["prefill \(prefill)", "\(format(p.median, 1)) (\(format(p.min, 1))–\(format(p.max, 1)))"],
        ])
    }
}
