import RecycleArguments
import RecycleDecoding
import RecycleKernels
import RecycleModel

/// `recycle-bench decode`: plain greedy decoding speed after a chat prompt, and prefill
/// speed of a long prompt, each the median of several runs. Decoding one token reads every
/// weight once, so the report also gives the weight bytes per token, the rate at which
/// decoding reads them, and, measured in the same runs (one pass after each decode), the
/// machine's streaming read bandwidth (`MemoryRead`): how close decoding is to memory-bound.
/// Two reads: `--mb` (512 MB, beyond any L3 we have met) gives the memory's rate, and a
/// buffer the size of the weights gives the ceiling for reading those bytes again and again,
/// wherever they stay: the same as the first where the weights exceed the last-level cache,
/// but on a server whose L3 holds them (SmolLM2's 98 MB in the 260 MB L3 of the Sapphire
/// Rapids VM) the weights come from L3, and only the second ratio is a fair distance.
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
        /// A streaming read of a buffer of `weight_bytes_per_token` bytes (MB rounded up).
        let weight_sized_read_mb: Int
        let weight_sized_read_gb_per_second: Stats
        /// Median weight-read rate / median weight-sized read rate.
        let weight_read_share_of_weight_sized_read: Double
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
        let bytesPerToken = model.weights.bytesReadPerPass
        let weightSizedMB = (bytesPerToken + 999_999) / 1_000_000
        let memory = MemoryRead(megabytes: megabytes), weightSized = MemoryRead(megabytes: weightSizedMB)
        let pool = WorkerPool(threads: threads)
        warmUp { _ = memory.pass(pool: pool) }  // page tables, the pool's threads, the cores' clocks
        var decode: [Double] = [], prefillRates: [Double] = [], bandwidth: [Double] = [], sameSize: [Double] = []
        var generated = 0
        do {
            for _ in 0..<runs {
                let result = try generator.generate(prompt: prompt, maxTokens: maxTokens, sampler: .greedy)
                decode.append(result.tokensPerSecond)
                generated = result.tokens.count
                bandwidth.append(memory.gigabytesPerSecond(memory.pass(pool: pool)))
                // Timed after 0.1 s of passes: decoding reads the same bytes token after token,
                // and a buffer that the last-level cache can hold took several passes to settle there.
                warmUp(for: 0.1) { _ = weightSized.pass(pool: pool) }
                sameSize.append(weightSized.gigabytesPerSecond(weightSized.pass(pool: pool)))
                generator.transformer.cache.truncate(to: 0)
                let t = try seconds { _ = try generator.transformer.forward(long, logits: .last) }
                prefillRates.append(Double(prefill) / t)
            }
        } catch {
            throw Failure("\(error)")
        }
        let machine = Machine(threads: threads)
        let d = Stats(decode), p = Stats(prefillRates), m = Stats(bandwidth), s = Stats(sameSize)
        let w = Stats(decode.map { Double(bytesPerToken) * $0 / 1e9 })
        let share = w.median / m.median, sizedShare = w.median / s.median
        if json {
            printJSON(Report(machine: machine, threads: threads, generated_tokens: generated, tokens_per_second: d,
                             tokens_per_second_median: d.median, prefill_tokens: prefill, prefill_tokens_per_second: p,
                             weight_bytes_per_token: bytesPerToken, weight_read_gb_per_second: w, memory_read_mb: megabytes,
                             memory_read_gb_per_second: m, weight_read_share_of_bandwidth: share,
                             weight_sized_read_mb: weightSizedMB, weight_sized_read_gb_per_second: s,
                             weight_read_share_of_weight_sized_read: sizedShare))
            return
        }
        func cell(_ s: Stats) -> String { "\(format(s.median, 1)) (\(format(s.min, 1))–\(format(s.max, 1)))" }
        print(machine.markdown)
        print("Greedy decode of \(generated) tokens after a \(prompt.count)-token chat prompt; prefill of \(prefill) tokens; "
              + "streaming reads of \(megabytes) MB and of \(weightSizedMB) MB (the weights' size) after each decode; "
              + "GB = 10^9 bytes; median (min–max) of \(runs) runs\n")
        printTable(["measure", "value"], [
            ["decode tokens/s", cell(d)],
            ["prefill \(prefill) tokens/s", cell(p)],
            ["weight MB read per token", format(Double(bytesPerToken) / 1e6, 1)],
            ["weight read GB/s while decoding", cell(w)],
            ["memory read GB/s, \(megabytes) MB (\(threads) thread(s))", cell(m)],
            ["weight read / memory read", format(share)],
            ["memory read GB/s, \(weightSizedMB) MB, the weights' size", cell(s)],
            ["weight read / weight-sized read", format(sizedShare)],
        ])
    }
}
