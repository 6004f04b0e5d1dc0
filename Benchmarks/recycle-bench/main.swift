import Foundation
import RecycleArguments

// recycle-bench: measures the kernels and the forward pass, one subcommand per file.

let usage = """
    recycle-bench: performance measurements of the recycle runtime.

    Usage:
      recycle-bench kernels [--n LIST] [--shapes smollm2|gemma3] [-t T] [--runs R] [--json]
          GOP/s of the batched matmul for every model matrix shape and batch size N.
      recycle-bench forward [-m MODEL] [--n LIST] [--context C] [-t T] [--runs R] [--cold] [--svg FILE] [--json]
          ms per forward pass of N tokens on top of a C-token cache, and the ratio to N = 1;
          --cold evicts the weights from the caches before each pass (a 512 MB read), as for a
          model larger than the last-level cache; --svg FILE also draws that ratio as a chart.
      recycle-bench decode [-m MODEL] [-t T] [-n N] [--prefill P] [--mb SIZE] [--runs R] [--json]
          greedy decode tokens/s (N tokens after a chat prompt) and prefill tokens/s (P tokens);
          weight bytes read per token, the GB/s that makes while decoding, and the memread
          bandwidth (SIZE MB, default 512) measured after each decode, with their ratio; also
          the read of a buffer the weights' size once it has settled in the caches (the
          ceiling where the last-level cache holds the model), with that ratio.
      recycle-bench memread [--mb SIZE] [-t T] [--runs R] [--json]
          streaming read bandwidth in GB/s: xor of a SIZE MB buffer (default 512, well above
          the L3 cache) in 64-byte vectors, split over T threads.
      recycle-bench specbench --questions FILE [-m MODEL] [--per-group N] [--every N] [-n 256]
                    [--drafter LIST] [--tree NAME|FILE] [--start hot|cold] [-k 8]
                    [--turns all|first] [--system TEXT|none] [--temp T [--seed S]] [--save FILE]
                    [--trace DIR] [-t T] [--json]
          Spec-Bench: plain decoding and every drafter of LIST (comma-separated, e.g.
          recycle,pld,suffix,hybrid; default recycle) on every question (all turns, ChatML),
          greedy or sampled (--temp, a seed per question and turn, the same for all); per group
          and drafter: MAT, tokens/s, speedup over plain decoding and whether the outputs were
          identical. Tokens/s count all of the drafter's work. --every N takes every N-th
          question of the file, --per-group N the first N per group; --save FILE also writes
          the JSON report there; --trace DIR writes DIR/<drafter>.jsonl, every pass of every
          turn (see 'recycle trace'), and the timings then include the writing.
      recycle-bench drafting [-m MODEL] [--questions FILE] [--context LIST] [--steps S]
                    [--tree NAME|FILE] [--json]
          µs per decoding step (draft + observe; median, p90) of every drafter, and of a bare
          SuffixIndex, on S simulated steps after a context of each length in LIST (default
          256,512,1024,2048,4096): no forward pass; the text is FILE's turns tokenized (default
          Benchmarks/data/spec_bench.jsonl); drafters sized by cost see synthetic pass times.
          The recycler drafts along --tree (default 2.2.2).

    Common options:
      -m, --model PATH   weights file; default: $RECYCLE_MODEL, else models/SmolLM2-135M-Instruct-Q4_1.rcyl
      -t, --threads T    worker threads (default 1)
          --runs R       timed runs per measurement; min, median and max are reported
          --json         print one JSON object instead of a Markdown table
    """

func run(_ args: [String]) throws {
    guard let command = args.first else { print(usage); return }
    let rest = args.dropFirst()
    switch command {
    case "-h", "--help", "help": print(usage)
    case "kernels": try KernelsBench(.benchmark(rest, KernelsBench.options)).run()
    case "forward": try ForwardBench(.benchmark(rest, ForwardBench.options)).run()
    case "decode": try DecodeBench(.benchmark(rest, DecodeBench.options)).run()
    case "specbench": try SpecBench(.benchmark(rest, SpecBench.options)).run()
    case "memread": try MemReadBench(.benchmark(rest, MemReadBench.options)).run()
    case "drafting": try DraftingBench(.benchmark(rest, DraftingBench.options)).run()
    default: throw UsageError("unknown command \"\(command)\"")
    }
}

do {
    try run(Array(CommandLine.arguments.dropFirst()))
} catch let error as UsageError {
    FileHandle.standardError.write(Data("recycle-bench: \(error)\nRun 'recycle-bench --help' for usage.\n".utf8))
    exit(2)
} catch {
    FileHandle.standardError.write(Data("recycle-bench: \(error)\n".utf8))
    exit(1)
}
