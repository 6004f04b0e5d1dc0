/// A read-only view of a weight matrix `[rows, cols]` stored row by row in `dtype`,
/// usually inside the memory-mapped weights file. The matmul kernels read it in place.
public struct Matrix: @unchecked Sendable {
    /// Encoding of the elements.
    public let dtype: DType
    /// Number of rows (output features, for a weight matrix).
    public let rows: Int
    /// Elements per row; a multiple of `dtype.blockElements`.
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
        case .f32: F32Row.decodeRow(src, cols: cols, into: out)
        case .f16: F16Row.decodeRow(src, cols: cols, into: out)
        case .q8_0: Q8_0.decodeRow(src, cols: cols, into: out)
        case .q4_1: Q4_1.decodeRow(src, cols: cols, into: out)
        case .q5_0: Q5_0.decodeRow(src, cols: cols, into: out)
        case .q4_k: Q4_K.decodeRow(src, cols: cols, into: out)
        case .q6_k: Q6_K.decodeRow(src, cols: cols, into: out)
        }
    }
}
