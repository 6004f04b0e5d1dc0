import RecycleArguments
import RecycleDecoding
import RecycleKernels

/// `recycle-bench kernels`: GOP/s of `matmul` on synthetic weights with the shapes and
/// dtypes of SmolLM2-135M's matrices (or, with `--shapes gemma3`, Gemma 3 270M's), for each
/// batch size N.
struct KernelsBench {
    static let options: [Arguments.Option] = [
        Options.threads, Options.runs, Options.json, .init(names: ["--n"], kind: .value), .init(names: ["--shapes"], kind: .value),
    ]

    /// (rows, cols, dtype) for each `--shapes` name.
    static let shapeSets: [String: [(Int, Int, DType)]] = [
        // q/o, k/v, gate/up, down, and the tied LM head.
        "smollm2": [(576, 576, .q4_1), (192, 576, .q4_1), (1536, 576, .q4_1), (576, 1536, .q4_1), (49152, 576, .q8_0)],
        // q, k/v, o, gate/up, down in its two dtypes, and the tied LM head (262,144 rows).
        "gemma3": [(1024, 640, .q5_0), (256, 640, .q5_0), (640, 1024, .q4_k), (2048, 640, .q5_0), (640, 2048, .q4_k), (640, 2048, .q6_k),
                   (262_144, 640, .q8_0)],
    ]

    struct Result: Encodable {
        let rows, cols: Int
        let dtype: String
        let n: Int
        let gops: Stats
    }

    struct Report: Encodable {
        let machine: Machine
        let results: [Result]
        /// Cost of one `WorkerPool.forEachChunk` call with an empty body: the fixed price
        /// of every parallel matmul.
        let pool_call_us: Stats
    }

    let threads: Int, runs: Int, batches: [Int], json: Bool
    let shapes: [(Int, Int, DType)]

    init(_ o: Options) throws {
        threads = try o.int("--threads", default: 1, in: 1...256)
        runs = try o.int("--runs", default: 5, in: 1...1000)
        batches = try o.ints("--n", default: [1, 2, 4, 8, 16, 32, 64, 128], in: 1...4096)
        json = o.has("--json")
        let name = o.string("--shapes") ?? "smollm2"
        guard let shapes = Self.shapeSets[name] else {
            throw UsageError("--shapes must be one of \(Self.shapeSets.keys.sorted().joined(separator: ", "))")
        }
        self.shapes = shapes
    }

    func run() {
        let pool = WorkerPool(threads: threads)
        var results: [Result] = []
        for (rows, cols, dtype) in shapes {
            let m = randomMatrix(dtype, rows: rows, cols: cols)
            defer { m.base.deallocate() }
            let w = WeightMatrix(m)
            let maxN = batches.max()!
            let x = UnsafeMutablePointer<Float>.allocate(capacity: maxN * cols)
            let y = UnsafeMutablePointer<Float>.allocate(capacity: maxN * rows)
            defer { x.deallocate(); y.deallocate() }
            var rng = SplitMix64(seed: 1)
            for i in 0..<(maxN * cols) { x[i] = Float(rng.nextUnitDouble() * 2 - 1) }
            for n in batches {
                let call = { matmul(w, x: x, xStride: cols, y: y, yStride: rows, columns: n, pool: pool) }
                // Repeat each timed run until it lasts about 50 ms, so timer noise is small.
                let once = seconds(call)
                let reps = max(1, Int(0.05 / max(once, 1e-7)))
                let samples = (0..<runs).map { _ in seconds { for _ in 0..<reps { call() } } / Double(reps) }
                let ops = 2.0 * Double(rows * cols * n)
                let gops = Stats(samples.map { ops / $0 / 1e9 })
                results.append(Result(rows: rows, cols: cols, dtype: dtype.rawValue, n: n, gops: gops))
            }
        }
        let calls = 10_000
        let poolCall = Stats((0..<runs).map { _ in
            seconds { for _ in 0..<calls { pool.forEachChunk(of: threads) { _ in } } } / Double(calls) * 1e6
        })
        let machine = Machine(threads: threads)
        if json { printJSON(Report(machine: machine, results: results, pool_call_us: poolCall)); return }
        print(machine.markdown + "; GOP/s = 2·rows·cols·N / time, median (min–max) of \(runs) runs\n")
        let header = ["shape (rows x cols, dtype)"] + batches.map { "N=\($0)" }
        let rows = shapes.map { shape in
            ["\(shape.0)x\(shape.1) \(shape.2.rawValue)"] + results.filter {
                $0.rows == shape.0 && $0.cols == shape.1 && $0.dtype == shape.2.rawValue
            }.map {
                "\(format($0.gops.median, 1)) (\(format($0.gops.min, 1))–\(format($0.gops.max, 1)))"
            }
        }
        printTable(header, rows)
        print("\nWorkerPool call with an empty body: \(format(poolCall.median)) µs (\(format(poolCall.min))–\(format(poolCall.max)))")
    }

    /// Random but well-formed blocks: f16 scales of a realistic size, any quant bytes.
    func randomMatrix(_ dtype: DType, rows: Int, cols: Int) -> Matrix {
        let bytes = dtype.rowBytes(elements: cols)! * rows
        let base = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        var rng = SplitMix64(seed: UInt64(rows * cols))
        for i in 0..<bytes { base.storeBytes(of: UInt8(truncatingIfNeeded: rng.next()), toByteOffset: i, as: UInt8.self) }
        func f16(_ v: Double, at offset: Int) { base.storeBytes(of: Float16(v), toByteOffset: offset, as: Float16.self) }
        let blocks = rows * cols / dtype.blockElements
        switch dtype {
        case .q8_0: for b in 0..<blocks { f16(0.01, at: 34 * b) }
        case .q4_1: for b in 0..<blocks { f16(0.01, at: 20 * b); f16(-0.08, at: 20 * b + 2) }
        case .q5_0: for b in 0..<blocks { f16(0.01, at: 22 * b) }
        case .q4_k: for b in 0..<blocks { f16(0.001, at: 144 * b); f16(0.002, at: 144 * b + 2) }
        case .q6_k: for b in 0..<blocks { f16(0.001, at: 210 * b + 208) }
        case .f16: for i in 0..<blocks { f16(rng.nextUnitDouble() - 0.5, at: 2 * i) }
        case .f32: for i in 0..<blocks { base.storeBytes(of: Float(rng.nextUnitDouble() - 0.5), toByteOffset: 4 * i, as: Float.self) }
        }
        return Matrix(dtype: dtype, rows: rows, cols: cols, base: UnsafeRawPointer(base))
    }
}
