/// Batched matrix multiplication `Y = X Wᵀ`: `y[n][r] = dot(W[r], x[n])` for every
/// activation column `n` of the batch.
///
/// Two kernels, chosen by the weights' encoding:
/// - Block-quantized weights (Q4_1, Q8_0, Q5_0, Q4_K, Q6_K) take the integer matmul
///   (`IntegerMatmulJob`): each column is quantized to 8 or 15 bits per 32-element block
///   (`InputPrecision`), held as two bytes (`QuantizedActivations`), and 8-bit dot
///   products (`byteDot`: `vpdpbusd`, or `vpmaddubsw` + `vpmaddwd`) run over weights
///   interleaved 16 rows to a SIMD register (`InterleavedBlocks`).
/// - f32 and f16 weights take the float matmul (`FloatMatmulJob` below), on f32 activations.
///
/// Machine code of the integer matmul, and the Swift that produces it. The code is in
/// `objdump -d .build/release/RecycleKernels.build/Matmul.swift.o` (the optimizer emits
/// `IntegerMatmulJob`'s specializations in this file, its caller): one function per weight
/// type and tile width (`tile<U, W>`), with no calls; on AVX-512 the widest tiles (16
/// columns for Q4_1, Q4_K and Q8_0, 8 for Q5_0) have no vector spills, while Q6_K's
/// 8-column tile spills some (27 zmm moves to and from the stack); the
/// tile's columns are addressed as constant offsets from one index register.
/// - AVX-512 VNNI build: per 16 rows x 4 elements x column, one `vpdpbusd zmm, zmm,
///   dword [mem]{1to16}`: `byteDot` (a `Builtin` intrinsic, RecycleIntrinsics) with the
///   column's four bytes as `SIMD16<Int32>(repeating: load(Int32))`, which LLVM folds into
///   the embedded broadcast. Per unit and column: 8 for an 8-bit block, 16 for a 15-bit one
///   (the low bytes' 8 behind a `cmpb`/`jne` on the block's `fine` flag); the Width16 Q4_1
///   tile holds 256. No Swift SIMD pattern we tried (widen u8/i8 to Int32 or
///   Int16, multiply, add neighbours) gave `vpdpbusd` or `vpmaddubsw`: LLVM emits `vpmulld`
///   and shuffles. Widening to Int16 and adding even and odd products does give `vpmaddwd`.
/// - AVX2 build (`RECYCLE_TARGET_CPU=haswell`): the same `byteDot` becomes `vpmaddubsw` +
///   `vpmaddwd` (by ones) + `vpaddd` on ymm halves, no zmm.
/// - Nibbles: `vpsrlq` + `vpandq` on the 64-byte chunk seen as SIMD8<UInt64>; `&` and `&>>`
///   on SIMD64<UInt8> itself compile to a loop over the 64 lanes (20x slower kernels).
/// - Scales: `vcvtph2ps zmm` from memory (16 rows' f16 scales; Q4_K's and Q6_K's f32
///   scales are `vmulps zmm` memory operands); sums: `vcvtdq2ps`; then `vmulps` and
///   `vfmadd231ps` with the column's scale as an embedded broadcast (or `vbroadcastss`).
/// - Q5_0 and Q6_K (unsigned bytes below 64, so one `byteDot` per four elements on every
///   build): per unit and column 8 chunk loads, 8 or 16 `vpdpbusd` with embedded broadcasts, the
///   offset sums as `sar $3` (Q5_0) or `shl $5; neg` (Q6_K) + `vpbroadcastd`; Q6_K then two
///   `vcvtdq2ps` + `vmulps` + `vfmadd` in a row. No calls (no `fmaf`, no outlined SIMD
///   helpers) in any of the five; nor in the AVX2 build, which has no zmm.
///
/// Batch invariance: every output element is computed by the same sequence of operations,
/// whatever the batch size and the column's place in it. Tiles differ only in how many
/// (row, column) accumulators run side by side; a tile slot without a row or column of
/// its own is never stored. No split-K, no N-dependent order.
///
/// - Parameters:
///   - w: weights `[rows, cols]`; `cols` must be a multiple of 32.
///   - x: `columns` activation vectors of `w.cols` floats, `xStride` floats apart.
///   - y: receives `columns` vectors of `w.rows` floats, `yStride` floats apart.
///   - precision: how block-quantized weights' inputs are quantized.
///   - pool: splits the rows between worker threads.
public func matmul(
    _ w: WeightMatrix,
    x: UnsafePointer<Float>, xStride: Int,
    y: UnsafeMutablePointer<Float>, yStride: Int,
    columns: Int, precision: InputPrecision = .adaptive, pool: WorkerPool
) {
    matmul([MatmulOutput(w, y: y, yStride: yStride)], x: x, xStride: xStride, columns: columns, precision: precision, pool: pool)
}

/// One matrix of a fused `matmul` and where its output goes.
public struct MatmulOutput: @unchecked Sendable {
    // Sendable: `y` is written by the matmul only, at disjoint rows per thread.
    /// The weights `[rows, cols]`; `cols` a multiple of 32.
    public let w: WeightMatrix
    /// Receives one vector of `w.rows` floats per activation column.
    public let y: UnsafeMutablePointer<Float>
    /// Floats between the starts of consecutive output vectors; at least `w.rows`.
    public let yStride: Int

    /// Pairs `w` with its output; traps unless `w.cols` is a multiple of 32 and
    /// `yStride >= w.rows`.
    public init(_ w: WeightMatrix, y: UnsafeMutablePointer<Float>, yStride: Int) {
        precondition(w.cols % 32 == 0, "matmul needs rows that are whole 32-element blocks")
        precondition(yStride >= w.rows, "output stride too small")
        self.w = w
        self.y = y
        self.yStride = yStride
    }

    /// Work items: 16-row groups of the integer matmul, 4-row panels of the float one.
    var items: Int {
        let height = w.interleaved != nil ? InterleavedBlocks.rowsPerGroup : Panel.rows
        return (w.rows + height - 1) / height
    }
}

/// Several matrices applied to the same input (Q, K and V; gate and up) in one call to
/// the worker pool, whose work items are shared out as if they were one matrix: one
/// dispatch instead of several, and no thread idles at the end of a small matrix. The
/// input is quantized once for all of them.
public func matmul(
    _ outputs: [MatmulOutput],
    x: UnsafePointer<Float>, xStride: Int,
    columns: Int, precision: InputPrecision = .adaptive, pool: WorkerPool
) {
    let cols = outputs[0].w.cols
    precondition(outputs.allSatisfy { $0.w.cols == cols }, "fused matrices must share the input length")
    precondition(xStride >= cols, "input stride too small")
    // Work item i is item i of the matrices' items laid end to end.
    var firstItem = [0]
    for o in outputs { firstItem.append(firstItem.last! + o.items) }
    let integer = outputs.contains { $0.w.interleaved != nil }
    let activationBytes = integer ? QuantizedActivations.bytes(columns: columns, count: cols) : 0
    withUnsafeTemporaryAllocation(byteCount: max(activationBytes, 1), alignment: 64) { storage in
        let quantized = integer
            ? QuantizedActivations(x, stride: xStride, columns: columns, count: cols, precision: precision, storage: storage.baseAddress!)
            : nil
        pool.forEachChunk(of: firstItem.last!) { items in
            for (m, o) in outputs.enumerated() {
                let mine = items.clamped(to: firstItem[m]..<firstItem[m + 1])
                guard !mine.isEmpty else { continue }
                let local = (mine.lowerBound - firstItem[m]) ..< (mine.upperBound - firstItem[m])
                if let quantized, o.w.interleaved != nil {
                    IntegerMatmulJob(w: o.w, x: quantized, y: o.y, yStride: o.yStride).run(groups: local)
                } else {
                    FloatMatmulJob(w: o.w.source, x: x, xStride: xStride, y: o.y, yStride: o.yStride, columns: columns)
                        .run(panels: local)
                }
            }
        }
    }
}

/// Rows computed together by the float matmul; also its tile height.
private enum Panel {
    static let rows = 4
    /// Up to this many columns, f16 rows are decoded where used, once per column pair,
    /// rather than once into a panel buffer (measured: `recycle-bench forward`).
    static let directColumns = 2
}

/// The float matmul over f32 or f16 weights: one matrix's share of 4-row panels, on one
/// thread. Each output element has one SIMD8 accumulator, into which the row's 8-element
/// slices are fused-multiply-added in order (0..<8, 8..<16, ...), each weight decoded by
/// `BlockDecoder` (from the file or, identically, from an f32 panel); then `horizontalSum`.
/// For a batch, f16 panels are decoded once into an L1-resident buffer and a 4-row x
/// 2-column register tile sweeps the batch.
///
/// Machine code (`objdump -d .build/release/RecycleKernels.build/Matmul.swift.o`, AVX2):
/// the batch tile, per 8 floats: 2 `vmovups` of x, 4 `vmovups` of panel rows, 8
/// `vfmadd231ps` into 8 ymm accumulators; no calls (no `fmaf`), no spills.
private struct FloatMatmulJob {
    let w: Matrix
    let x: UnsafePointer<Float>, xStride: Int
    let y: UnsafeMutablePointer<Float>, yStride: Int
    let columns: Int

    func run(panels: Range<Int>) {
        let rows = panels.lowerBound * Panel.rows ..< min(w.rows, panels.upperBound * Panel.rows)
        switch w.dtype {
        case .f32: runDirect(F32Row.self, rows: rows)
        case .f16 where columns <= Panel.directColumns: runDirect(F16Row.self, rows: rows)
        case .f16: runPanels(F16Row.self, rows: rows)
        case .q4_1, .q8_0, .q5_0, .q4_k, .q6_k: preconditionFailure("block-quantized weights take the integer matmul")
        }
    }

    private func runPanels<D: BlockDecoder>(_: D.Type, rows: Range<Int>) {
        let k = w.cols
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Panel.rows * k) { buffer in
            let panel = buffer.baseAddress!
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
    }

    /// Few columns, or f32 weights (nothing to decode): the
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
