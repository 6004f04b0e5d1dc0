import RecycleArguments
import RecycleDecoding
import RecycleKernels
import RecycleModel
import RecycleTools

/// `recycle-bench forward`: the cost curve cost(N) of one forward pass over N new tokens
/// on top of a filled KV cache, with logits for every token (what verifying N drafted
/// tokens needs). Speculative decoding pays when cost(N) / cost(1) stays small.
struct ForwardBench {
    static let options: [Arguments.Option] = [
        Options.model, Options.threads, Options.runs, Options.json, .init(names: ["--n"], kind: .value), .init(names: ["--context"], kind: .value),
        .init(names: ["--svg"], kind: .value), .init(names: ["--cold"], kind: .flag),
    ]

    struct Result: Encodable {
        let n: Int
        let ms_min, ms_median, ms_max: Double
        let ratio_to_n1: Double
        /// Process CPU time per pass (all threads), and its ratio to N = 1.
        let cpu_ms_median: Double
        let cpu_ratio_to_n1: Double
    }

    struct Report: Encodable {
        let machine: Machine
        let threads: Int
        let context: Int
        let cold: Bool
        let logits: String
        let results: [Result]
    }

    let path: String, threads: Int, runs: Int, batches: [Int], context: Int, json: Bool
    /// Where to draw the curve as an SVG chart, if anywhere.
    let svgPath: String?
    /// With `--cold`, a 512 MB streaming read before each timed pass evicts the weights from
    /// every cache, so that each pass reads them from memory: the case of a model larger than
    /// the last-level cache (every model on small machines, the larger ones everywhere).
    /// Without it, a model that fits is read from there after the first pass: SmolLM2's 98 MB
    /// in the 260 MB L3 of the Sapphire Rapids VM, where cost(1) was then bound by L3's rate.
    let cold: Bool

    init(_ o: Options) throws {
        path = try o.modelPath()
        threads = try o.int("--threads", default: 1, in: 1...256)
        runs = try o.int("--runs", default: 5, in: 1...1000)
        batches = try o.ints("--n", default: [1, 2, 4, 8, 16, 32, 64, 80, 128], in: 1...4096)
        context = try o.int("--context", default: 512, in: 0...1 << 20)
        json = o.has("--json")
        svgPath = o.string("--svg")
        cold = o.has("--cold")
    }

    func run() throws {
        let model: Model
        do { model = try Model(path: path) } catch { throw Failure(error.description) }
        let capacity = context + batches.max()!
        guard capacity <= model.config.contextLength else {
            throw UsageError("--context \(context) plus the largest N exceeds the model's context (\(model.config.contextLength))")
        }
        let transformer = Transformer(weights: model.weights, contextLength: capacity, threads: threads)
        let tokens = syntheticTokens(model, count: capacity)
        // The buffer that evicts the weights, and the threads that read it (only with --cold).
        let eviction = cold ? (buffer: MemoryRead(megabytes: 512), pool: WorkerPool(threads: threads)) : nil
        do {
            if context > 0 { _ = try transformer.forward(Array(tokens[0..<context])) }
            var medians: [Int: Double] = [:], cpuMedians: [Int: Double] = [:]
            var results: [Result] = []
            // N = 1 first, so every ratio has its denominator from the same run.
            for n in [1] + batches.filter({ $0 != 1 }) {
                let batch = Array(tokens[context..<(context + n)])
                var samples: [Double] = [], cpu: [Double] = []
                try warmUp {
                    _ = try transformer.forward(batch, logits: .all)
                    transformer.cache.truncate(to: context)
                }
                for _ in 0..<runs {
                    if let eviction { _ = eviction.buffer.pass(pool: eviction.pool) }
                    let cpu0 = processCPUSeconds()
                    let t = try seconds { _ = try transformer.forward(batch, logits: .all) }
                    let c = processCPUSeconds() - cpu0
                    transformer.cache.truncate(to: context)
                    samples.append(t * 1000)
                    cpu.append(c * 1000)
                }
                let s = Stats(samples), c = Stats(cpu)
                medians[n] = s.median
                cpuMedians[n] = c.median
                if batches.contains(n) {
                    results.append(Result(n: n, ms_min: s.min, ms_median: s.median, ms_max: s.max, ratio_to_n1: s.median / medians[1]!,
                                          cpu_ms_median: c.median, cpu_ratio_to_n1: c.median / cpuMedians[1]!))
                }
            }
            results.sort { $0.n < $1.n }
            if let svgPath { try drawChart(results, path: svgPath) }
            report(results)
        } catch {
            throw Failure("\(error)")
        }
    }

    /// The curve as a chart: cost(N)/cost(1) is also how many tokens a pass of N nodes must
    /// confirm to break even with plain decoding, which is why a CPU wants smaller trees than
    /// a GPU, whose curve stays near 1 far longer (memory-bound).
    func drawChart(_ results: [Result], path: String) throws {
        let chart = LineChart(
            title: "Verifying N tokens in one pass, against one (\(context)-token cache, \(threads) thread\(threads == 1 ? "" : "s"))",
            xLabel: "N: tokens (tree nodes) in the pass",
            yLabel: "cost(N) / cost(1)",
            series: [
                .init(name: "this CPU: \(Machine(threads: threads).cpu)", points: results.map { (Double($0.n), $0.ratio_to_n1) }),
                .init(name: "memory-bound ideal (flat)", points: results.map { (Double($0.n), 1) }),
            ])
        do { try AtomicFile.write(Array(chart.svg(width: 720, height: 420).document.utf8), path: path) } catch {
            throw Failure(error.description)
        }
    }

    func report(_ results: [Result]) {
        let machine = Machine(threads: threads)
        if json {
            printJSON(Report(machine: machine, threads: threads, context: context, cold: cold, logits: "all", results: results))
            return
        }
        print(machine.markdown)
        print("Forward pass of N tokens on a \(context)-token cache, logits for all N"
              + (cold ? ", weights evicted from the caches before each pass" : "") + "; ms median (min–max) of \(runs) runs\n")
        printTable(["N", "ms", "ratio to N=1", "ms per token", "CPU ms", "CPU ratio to N=1"], results.map {
            ["\($0.n)", "\(format($0.ms_median, 1)) (\(format($0.ms_min, 1))–\(format($0.ms_max, 1)))",
             format($0.ratio_to_n1), format($0.ms_median / Double($0.n)), format($0.cpu_ms_median, 1), format($0.cpu_ratio_to_n1)]
        })
    }
}

/// Ordinary text tokens (a repeated English passage), so activations look like real ones.
func syntheticTokens(_ model: Model, count: Int) -> [Int32] {
    let passage = """
        The robot had never held a brush before. It studied the way light fell across the \
        harbour in the morning, how the water turned from grey to gold, and tried to mix \
        the colours it saw. Its first paintings were careful and flat; the old painter who \
        lived next door laughed, then showed it how to let the paint run. 
        """
    let ids = model.tokenizer.encode(passage)
    return (0..<count).map { ids[$0 % ids.count] }
}
