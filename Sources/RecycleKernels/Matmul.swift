/// Batched matrix multiplication `Y = X Wᵀ` over quantized weights:
/// `y[n][r] = dot(W[r], x[n])` for every activation column `n` of the batch.
///
/// How: rows are taken four at a time (a panel). For a batch, each panel is decoded once
/// to f32 in an L1-resident buffer and a 4-row x 2-column register tile sweeps the batch,
/// so N columns cost far less than N single columns. A few columns (decode, small draft
/// trees), and f32 weights, skip the buffer: the tiles read the weights in place.
///
/// Batch invariance: every output element is computed by the same sequence of
/// floating-point operations, whatever the batch size and the column's place in it. Its
/// accumulator is one SIMD8<Float>, into which the row's 8-element slices are
/// fused-multiply-added in order (0..<8, 8..<16, ...), each weight decoded by
/// `BlockDecoder` (from the file or, identically, from the f32 panel); then
/// `horizontalSum`. Tiles differ only in how many (row, column) accumulators run side
/// by side; a tile slot without a row of its own computes a stand-in row (zeros, or a
/// repeated row) whose result is dropped. No split-K, no N-dependent order.
///
/// Machine code (`objdump -d .build/release/RecycleKernels.build/Matmul.swift.o`, AVX2):
/// - batch tile (`tile` over `F32Row`, width 2), per 8 floats: 2 `vmovups` of x, 4
///   `vmovups` of panel rows, 8 `vfmadd231ps` into 8 ymm accumulators;
/// - single column over Q8_0, per row and 8 weights: `vpmovsxbd` (from memory),
///   `vcvtdq2ps`, `vmulps` by the block scale, one FMA into the row's accumulator;
///   over Q4_1: `vpmovzxbd`, `vpand`/`vpsrlw`, `vcvtdq2ps`, `vfmadd` (d·q + m), one FMA;
/// no calls (no `fmaf`), no scalar lane loops, no spills in the inner loops.
///
/// - Parameters:
///   - w: weights `[rows, cols]`; `cols` must be a multiple of 32.
///   - x: `columns` activation vectors of `w.cols` floats, `xStride` floats apart.
///   - y: receives `columns` vectors of `w.rows` floats, `yStride` floats apart.
///   - pool: splits the rows between worker threads.
public func matmul(
    _ w: Matrix,
    x: UnsafePointer<Float>, xStride: Int,
    y: UnsafeMutablePointer<Float>, yStride: Int,
    columns: Int, pool: WorkerPool
) {
    matmul([MatmulOutput(w, y: y, yStride: yStride)], x: x, xStride: xStride, columns: columns, pool: pool)
}

/// One matrix of a fused `matmul` and where its output goes.
public struct MatmulOutput: @unchecked Sendable {
    public let w: Matrix
    public let y: UnsafeMutablePointer<Float>
    public let yStride: Int

    public init(_ w: Matrix, y: UnsafeMutablePointer<Float>, yStride: Int) {
        precondition(w.cols % 32 == 0, "matmul needs rows that are whole 32-element blocks")
        precondition(yStride >= w.rows, "output stride too small")
        self.w = w
        self.y = y
        self.yStride = yStride
    }
}

/// Several matrices applied to the same input (Q, K and V; gate and up) in one call to
/// the worker pool, whose rows are shared out as if they were one matrix: one dispatch
/// instead of several, and no thread idles at the end of a small matrix.
public func matmul(
    _ outputs: [MatmulOutput],
    x: UnsafePointer<Float>, xStride: Int,
    columns: Int, pool: WorkerPool
) {
    let cols = outputs[0].w.cols
    precondition(outputs.allSatisfy { $0.w.cols == cols }, "fused matrices must share the input length")
    precondition(xStride >= cols, "input stride too small")
    // Work item i is panel i of the matrices' panels laid end to end.
    var firstPanel = [0]
    for o in outputs { firstPanel.append(firstPanel.last! + (o.w.rows + Panel.rows - 1) / Panel.rows) }
    pool.forEachChunk(of: firstPanel.last!) { panels in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Panel.rows * cols) { buffer in
            for (m, o) in outputs.enumerated() {
                let mine = panels.clamped(to: firstPanel[m]..<firstPanel[m + 1])
                guard !mine.isEmpty else { continue }
                let job = MatmulJob(w: o.w, x: x, xStride: xStride, y: o.y, yStride: o.yStride, columns: columns,
                                    panel: buffer.baseAddress!)
                let rows = (mine.lowerBound - firstPanel[m]) * Panel.rows ..< min(o.w.rows, (mine.upperBound - firstPanel[m]) * Panel.rows)
                switch o.w.dtype {
                case .q4_1: job.run(Q4_1.self, rows: rows)
                case .q8_0: job.run(Q8_0.self, rows: rows)
                case .f16: job.run(F16Row.self, rows: rows)
                case .f32: job.run(F32Row.self, rows: rows)
                }
            }
        }
    }
}

/// Rows decoded together; also the tile height.
private enum Panel {
    static let rows = 4
    /// Up to this many columns, quantized rows are decoded where used, once per column pair,
    /// rather than once into the panel buffer (measured: `recycle-bench forward`).
    static let directColumns = 2
}

/// One matrix's share of rows, on one thread.
private struct MatmulJob {
    let w: Matrix
    let x: UnsafePointer<Float>, xStride: Int
    let y: UnsafeMutablePointer<Float>, yStride: Int
    let columns: Int
    /// Scratch for `Panel.rows` decoded rows.
    let panel: UnsafeMutablePointer<Float>

    func run<D: BlockDecoder>(_: D.Type, rows: Range<Int>) {
        if columns <= Panel.directColumns || D.self == F32Row.self { return runDirect(D.self, rows: rows) }
        let k = w.cols
        for r0 in stride(from: rows.lowerBound, to: rows.upperBound, by: Panel.rows) {
            let height = min(Panel.rows, rows.upperBound - r0)
            for i in 0..<Panel.rows {
                if i < height {
                    D.decodeRow(w.row(r0 + i), cols: k, into: panel + i * k)
                } else {
                    (panel + i * k).update(repeating: 0, count: k)  // a stand-in row; its result is dropped
                }
            }
            let p = UnsafeRawPointer(panel)  // row i at byte offset 4 * k * i
            sweep(F32Row.self, p, p + 4 * k, p + 8 * k, p + 12 * k, firstRow: r0, rowStep: 1, height: height)
        }
    }

    /// Few columns (decode, small draft trees), or f32 weights (nothing to decode): the
    /// tiles read the weights in place, four rows at a time. The four rows are a quarter
    /// of the range apart, so that memory is read as four long sequential streams (four
    /// adjacent rows read in lockstep defeat the hardware prefetcher: decode ran at half
    /// speed on weights that come from DRAM). Weights read from DRAM once serve every
    /// column, so when reading weights is the bottleneck, N columns cost about one.
    private func runDirect<D: BlockDecoder>(_: D.Type, rows: Range<Int>) {
        let step = (rows.count + Panel.rows - 1) / Panel.rows
        for r0 in rows.lowerBound ..< rows.lowerBound + step {
            let height = min(Panel.rows, (rows.upperBound - 1 - r0) / step + 1)
            let row = { i in i < height ? w.row(r0 + i * step) : w.row(r0) }  // a stand-in row's result is dropped
            sweep(D.self, row(0), row(1), row(2), row(3), firstRow: r0, rowStep: step, height: height)
        }
    }

    /// Every column through 4-row tiles over rows `w0...w3`, two columns at a time.
    @inline(__always)
    private func sweep<D: BlockDecoder>(
        _: D.Type, _ w0: UnsafeRawPointer, _ w1: UnsafeRawPointer, _ w2: UnsafeRawPointer, _ w3: UnsafeRawPointer,
        firstRow r0: Int, rowStep: Int, height: Int
    ) {
        var n = 0
        while n + 2 <= columns {
            tile(D.self, w0, w1, w2, w3, column: n, width: 2, firstRow: r0, rowStep: rowStep, height: height)
            n += 2
        }
        if n < columns {
            tile(D.self, w0, w1, w2, w3, column: n, width: 1, firstRow: r0, rowStep: rowStep, height: height)
        }
    }

    /// A 4-row x `width`-column register tile (`width` is 2 or 1, a constant after
    /// inlining) over rows `w0...w3` in encoding `D`, which are output rows `r0`,
    /// `r0 + rowStep`, ...; stores the first `height` of them.
    @inline(__always)
    private func tile<D: BlockDecoder>(
        _: D.Type, _ w0: UnsafeRawPointer, _ w1: UnsafeRawPointer, _ w2: UnsafeRawPointer, _ w3: UnsafeRawPointer,
        column n: Int, width: Int, firstRow r0: Int, rowStep: Int, height: Int
    ) {
        let x0 = UnsafeRawPointer(x + n * xStride), x1 = x0 + 4 * xStride
        var a0 = (SIMD8<Float>(), SIMD8<Float>()), a1 = a0, a2 = a0, a3 = a0
        for b in 0..<(w.cols / 32) {
            for s in 0..<4 {
                let offset = 128 * b + 32 * s
                let v0 = x0.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
                let v1 = width > 1 ? x1.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self) : v0
                accumulate(D.slice(s, ofBlock: b, in: w0), v0, v1, &a0, width: width)
                accumulate(D.slice(s, ofBlock: b, in: w1), v0, v1, &a1, width: width)
                accumulate(D.slice(s, ofBlock: b, in: w2), v0, v1, &a2, width: width)
                accumulate(D.slice(s, ofBlock: b, in: w3), v0, v1, &a3, width: width)
            }
        }
        store(a0, row: r0, column: n, width: width)
        if height > 1 { store(a1, row: r0 + rowStep, column: n, width: width) }
        if height > 2 { store(a2, row: r0 + 2 * rowStep, column: n, width: width) }
        if height > 3 { store(a3, row: r0 + 3 * rowStep, column: n, width: width) }
    }

    @inline(__always)
    private func store(_ a: (SIMD8<Float>, SIMD8<Float>), row r: Int, column n: Int, width: Int) {
        y[n * yStride + r] = horizontalSum(a.0)
        if width > 1 { y[(n + 1) * yStride + r] = horizontalSum(a.1) }
    }
}

/// One weight slice into the accumulators of one row for (up to) two columns.
@inline(__always)
private func accumulate(
    _ u: SIMD8<Float>, _ v0: SIMD8<Float>, _ v1: SIMD8<Float>,
    _ a: inout (SIMD8<Float>, SIMD8<Float>), width: Int
) {
    a.0 = a.0.addingProduct(u, v0)
    if width > 1 { a.1 = a.1.addingProduct(u, v1) }
}
