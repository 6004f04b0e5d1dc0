#if canImport(Glibc)
import Glibc
#endif

/// A weight matrix laid out for the matmul kernels.
///
/// Block-quantized weights (Q4_1, Q8_0, Q5_0, Q4_K, Q6_K) are copied once into `InterleavedBlocks`' layout,
/// which the integer matmul reads; f32 and f16 weights are read in place, row by row, by
/// the float matmul. Either way each output element is computed by one fixed sequence of
/// operations (see `matmul`).
public final class WeightMatrix: @unchecked Sendable {
    // Sendable: immutable after init; `interleaved` is owned here and only read.
    /// Encoding of the weights as the file stores them.
    public let dtype: DType
    /// Number of rows (output features).
    public let rows: Int
    /// Elements per row (input features).
    public let cols: Int
    /// The matrix as the file stores it (f32, f16; and the source of an interleaved copy).
    let source: Matrix
    /// The interleaved copy of block-quantized weights, or nil (64-byte aligned, owned).
    let interleaved: UnsafeMutableRawPointer?

    /// Prepares `m` for the kernels: copies block-quantized weights into the interleaved layout,
    /// keeps a reference to f32/f16 ones. `m`'s memory must outlive the matrix.
    public init(_ m: Matrix) {
        dtype = m.dtype
        rows = m.rows
        cols = m.cols
        source = m
        if let unit = InterleavedBlocks.unitBytes(m.dtype) {
            let p = allocateStreamed(byteCount: InterleavedBlocks.groups(m.rows) * (m.cols / 32) * unit)
            InterleavedBlocks.write(m, to: p)
            interleaved = p
        } else {
            interleaved = nil
        }
    }

    deinit { free(interleaved) }

    /// Whether the kernels read the matrix where it was (f32, f16), rather than a copy.
    public var readsInPlace: Bool { interleaved == nil }

    /// Bytes the kernels read for one pass over the matrix.
    public var bytes: Int { rows * source.rowBytes }
}

/// Memory that kernels stream through, aligned to 2 MB and (on Linux) marked for huge
/// pages: with 4 kB pages, streaming the weights took a TLB miss every 4 kB. Free with `free`.
private func allocateStreamed(byteCount: Int) -> UnsafeMutableRawPointer {
    let huge = 2 << 20
    var p: UnsafeMutableRawPointer?
    let alignment = byteCount >= huge ? huge : 64
    guard posix_memalign(&p, alignment, max(byteCount, 1)) == 0, let p else {
        fatalError("out of memory: \(byteCount) bytes for interleaved weights")
    }
    #if canImport(Glibc)
    if byteCount >= huge { _ = madvise(p, (byteCount + huge - 1) / huge * huge, MADV_HUGEPAGE) }
    #endif
    return p
}
