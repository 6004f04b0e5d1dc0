import RecycleArguments
import RecycleKernels

/// `recycle-bench memread`: the machine's streaming read bandwidth (see `MemoryRead`), the
/// yardstick for the weight-read rate `recycle-bench decode` reports.
struct MemReadBench {
    static let options: [Arguments.Option] = [Options.threads, Options.runs, Options.json, .init(names: ["--mb"], kind: .value)]

    struct Report: Encodable {
        let machine: Machine
        let megabytes: Int
        let gb_per_second: Stats
    }

    let threads: Int, runs: Int, megabytes: Int, json: Bool

    init(_ o: Options) throws {
        threads = try o.int("--threads", default: 1, in: 1...256)
        runs = try o.int("--runs", default: 5, in: 1...1000)
        megabytes = try o.int("--mb", default: 512, in: 1...1 << 20)
        json = o.has("--json")
    }

    func run() {
        let buffer = MemoryRead(megabytes: megabytes)
        let pool = WorkerPool(threads: threads)
        warmUp { _ = buffer.pass(pool: pool) }  // page tables, the pool's threads, the cores' clocks
        let rates = Stats((0..<runs).map { _ in buffer.gigabytesPerSecond(buffer.pass(pool: pool)) })
        let machine = Machine(threads: threads)
        if json { printJSON(Report(machine: machine, megabytes: megabytes, gb_per_second: rates)); return }
        print(machine.markdown)
        print("Streaming read (xor of 64-byte vectors) of a \(megabytes) MB buffer; GB = 10^9 bytes; median (min–max) of \(runs) passes\n")
        printTable(["measure", "GB/s"], [["read", "\(format(rates.median, 1)) (\(format(rates.min, 1))–\(format(rates.max, 1)))"]])
    }
}
