import RecycleArguments
import RecycleDecoding
import RecycleKernels
import RecycleModel

/// `recycle-bench decode`: plain greedy decoding speed after a chat prompt, and prefill
/// speed of a long prompt, each the median of several runs. Decoding one token reads every
/// weight once, so the report also gives the weight bytes per token, the rate at which
/// decoding reads them, and, measured in the same runs (one pass after each decode), the
/// machine's streaming read bandwidth (`MemoryRead`): how close decoding is to memory-bound.
struct DecodeBench {
    static let options: [Arguments.Option] = [
        Options.model, Options.threads, Options.runs, Options.json, .init(names: ["--max-tokens", "-n"], kind: .value), .init(names: ["--prefill"], kind: .value),
        .init(names: ["--mb"], kind: .value),
    ]

    struct Report: Encodable {
        let machine: Machine
        let threads: Int
        let generated_tokens: Int
        let tokens_per_second: Stats
        let tokens_per_second_median: Double
        let prefill_tokens: Int
        let prefill_tokens_per_second: Stats
        /// Bytes of weights one decoding step (one token) reads (`ModelWeights.bytesReadPerPass`).
        let weight_bytes_per_token: Int
        /// `weight_bytes_per_token` x decode tokens/s, per run (GB = 10^9 bytes).
        let weight_read_gb_per_second: Stats
        let memory_read_mb: Int
        let memory_read_gb_per_second: Stats
        /// Median weight-read rate / median memory read bandwidth.
        let weight_read_share_of_bandwidth: Double
    }

    let path: String, threads: Int, runs: Int, maxTokens: Int, prefill: Int, megabytes: Int, json: Bool

    init(_ o: Options) throws {
        path = try o.modelPath()
        threads = try o.int("--threads", default: 1, in: 1...256)
        runs = try o.int("--runs", default: 3, in: 1...1000)
        maxTokens = try o.int("--max-tokens", default: 128, in: 2...4096)
        prefill = try o.int("--prefill", default: 512, in: 1...8192)
        megabytes = try o.int("--mb", default: 512, in: 1...1 << 20)
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
        let generator = try Generator(model: model, contextLength: max(prompt.count + maxTokens, prefill), threads: threads)
        let memory = MemoryRead(megabytes: megabytes)
        let pool = WorkerPool(threads: threads)
        warmUp { _ = memory.pass(pool: pool) }  // page tables, the pool's threads, the cores' clocks
        var decode: [Double] = [], prefillRates: [Double] = [], bandwidth: [Double] = [], generated = 0
        do {
            for _ in 0..<runs {
                let result = try generator.generate(prompt: prompt, maxTokens: maxTokens, sampler: .greedy)
                decode.append(result.tokensPerSecond)
                generated = result.tokens.count
                bandwidth.append(memory.gigabytesPerSecond(memory.pass(pool: pool)))
                generator.transformer.cache.truncate(to: 0)
                let t = try seconds { _ = try generator.transformer.forward(long, logits: .last) }
                prefillRates.append(Double(prefill) / t)
            }
        } catch {
            throw Failure("\(error)")
        }
        let machine = Machine(threads: threads)
        let bytesPerToken = model.weights.bytesReadPerPass
        let d = Stats(decode), p = Stats(prefillRates), m = Stats(bandwidth)
        let w = Stats(decode.map { Double(bytesPerToken) * $0 / 1e9 })
        let share = w.median / m.median
        if json {
            printJSON(Report(machine: machine, threads: threads, generated_tokens: generated, tokens_per_second: d,
                             tokens_per_second_median: d.median, prefill_tokens: prefill, prefill_tokens_per_second: p,
                             weight_bytes_per_token: bytesPerToken, weight_read_gb_per_second: w, memory_read_mb: megabytes,
                             memory_read_gb_per_second: m, weight_read_share_of_bandwidth: share))
            return
        }
        func cell(_ s: Stats) -> String { "\(format(s.median, 1)) (\(format(s.min, 1))–\(format(s.max, 1)))" }
        print(machine.markdown)
        print("Greedy decode of \(generated) tokens after a \(prompt.count)-token chat prompt; prefill of \(prefill) tokens; "
              + "a \(megabytes) MB streaming read after each decode; GB = 10^9 bytes; median (min–max) of \(runs) runs\n")
        printTable(["measure", "value"], [
            ["decode tokens/s", cell(d)],
            ["prefill \(prefill) tokens/s", cell(p)],
            ["weight MB read per token", format(Double(bytesPerToken) / 1e6, 1)],
            ["weight read GB/s while decoding", cell(w)],
            ["memory read GB/s (\(threads) thread(s))", cell(m)],
            ["weight read / memory read", format(share)],
        ])
    }
}
