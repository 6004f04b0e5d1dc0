/// A read-only view of a weight matrix `[rows, cols]` stored row by row in `dtype`,
/// usually inside the memory-mapped weights file. The matmul kernels read it in place.
public struct Matrix: @unchecked Sendable {
    public let dtype: DType
    public let rows: Int
    public let cols: Int
    /// Start of row 0. Rows follow each other without padding.
    public let base: UnsafeRawPointer
    /// Bytes between the starts of consecutive rows.
    public let rowBytes: Int

    /// Wraps memory that holds `rows * rowBytes` bytes. The caller guarantees the size
    /// (the weights loader checks it against the tensor directory before building a view).
    public init(dtype: DType, rows: Int, cols: Int, base: UnsafeRawPointer) {
        precondition(cols % dtype.blockElements == 0, "row length must fill whole blocks")
        self.dtype = dtype
        self.rows = rows
        self.cols = cols
        self.base = base
        self.rowBytes = dtype.rowBytes(elements: cols)!
    }

    @inline(__always)
    func row(_ r: Int) -> UnsafeRawPointer { base + r * rowBytes }

    /// Writes row `r` as `cols` floats: the same values the matmul kernels use.
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(r >= 0 && r < rows, "row out of range")
        let src = row(r)
        switch dtype {
        case .f32:
            out.update(from: src.assumingMemoryBound(to: Float.self), count: cols)
        case .f16:
            for i in 0..<cols { out[i] = Float(src.loadUnaligned(fromByteOffset: 2 * i, as: Float16.self)) }
        case .q8_0, .q4_1:
            for b in 0..<(cols / 32) {
                let block = src + b * dtype.blockBytes
                let (lo, hi) = dtype == .q8_0 ? Q8_0.dequantize(block) : Q4_1.dequantize(block)
                UnsafeMutableRawPointer(out + 32 * b).storeBytes(of: lo, as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(out + 32 * b + 16).storeBytes(of: hi, as: SIMD16<Float>.self)
            }
        }
    }
}
