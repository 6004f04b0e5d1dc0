/// Batched matrix multiplication `Y = X Wᵀ` over quantized weights:
/// `y[n][r] = dot(W[r], x[n])` for every activation column `n` of the batch.
///
/// Batch invariance: every output element is computed by the same sequence of
/// floating-point operations, whatever the batch size and the column's place in it.
/// The row is read 32 elements at a time (one block); each block's two SIMD16 halves are
/// fused-multiply-added into two SIMD16 accumulators owned by that one column; at the end
/// the accumulators are added and reduced by halving. Column tiles of 4 and of 1 run the
/// same per-column steps; they differ only in how many columns share one decoded block.
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
    precondition(w.cols % 32 == 0, "matmul needs rows that are whole 32-element blocks")
    precondition(xStride >= w.cols && yStride >= w.rows, "strides too small")
    let job = MatmulJob(w: w, x: x, xStride: xStride, y: y, yStride: yStride, columns: columns)
    switch w.dtype {
    case .q4_1: job.run(Q4_1.self, pool: pool)
    case .q8_0: job.run(Q8_0.self, pool: pool)
    case .f16: job.run(F16Row.self, pool: pool)
    case .f32: job.run(F32Row.self, pool: pool)
    }
}

private struct MatmulJob: @unchecked Sendable {
    let w: Matrix
    let x: UnsafePointer<Float>, xStride: Int
    let y: UnsafeMutablePointer<Float>, yStride: Int
    let columns: Int

    func run<D: BlockDecoder>(_ decoder: D.Type, pool: WorkerPool) {
        pool.forEachChunk(of: w.rows) { rows in
            for r in rows {
                let row = w.row(r)
                var n = 0
                while n + 4 <= columns {
                    dot4(D.self, row: row, column: n, r: r)
                    n += 4
                }
                while n < columns {
                    dot1(D.self, row: row, column: n, r: r)
                    n += 1
                }
            }
        }
    }

    @inline(__always)
    private func dot1<D: BlockDecoder>(_: D.Type, row: UnsafeRawPointer, column n: Int, r: Int) {
        let x0 = x + n * xStride
        var a0 = SIMD16<Float>(), b0 = SIMD16<Float>()
        for b in 0..<(w.cols / 32) {
            let (lo, hi) = D.block(b, of: row)
            accumulate(lo, hi, x0 + 32 * b, &a0, &b0)
        }
        y[n * yStride + r] = reduce(a0, b0)
    }

    @inline(__always)
    private func dot4<D: BlockDecoder>(_: D.Type, row: UnsafeRawPointer, column n: Int, r: Int) {
        let x0 = x + n * xStride, x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride
        var a0 = SIMD16<Float>(), b0 = SIMD16<Float>()
        var a1 = SIMD16<Float>(), b1 = SIMD16<Float>()
        var a2 = SIMD16<Float>(), b2 = SIMD16<Float>()
        var a3 = SIMD16<Float>(), b3 = SIMD16<Float>()
        for b in 0..<(w.cols / 32) {
            let (lo, hi) = D.block(b, of: row)
            accumulate(lo, hi, x0 + 32 * b, &a0, &b0)
            accumulate(lo, hi, x1 + 32 * b, &a1, &b1)
            accumulate(lo, hi, x2 + 32 * b, &a2, &b2)
            accumulate(lo, hi, x3 + 32 * b, &a3, &b3)
        }
        y[n * yStride + r] = reduce(a0, b0)
        y[(n + 1) * yStride + r] = reduce(a1, b1)
        y[(n + 2) * yStride + r] = reduce(a2, b2)
        y[(n + 3) * yStride + r] = reduce(a3, b3)
    }
}

/// One block's contribution to one column: `a += lo * x[0..<16]`, `b += hi * x[16..<32]`.
@inline(__always)
private func accumulate(
    _ lo: SIMD16<Float>, _ hi: SIMD16<Float>, _ x: UnsafePointer<Float>,
    _ a: inout SIMD16<Float>, _ b: inout SIMD16<Float>
) {
    let raw = UnsafeRawPointer(x)
    a = a.addingProduct(lo, raw.loadUnaligned(as: SIMD16<Float>.self))
    b = b.addingProduct(hi, raw.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self))
}

/// The fixed reduction of a column's two accumulators.
@inline(__always)
private func reduce(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> Float {
    horizontalSum(a + b)
}
