/// The element encodings a weight tensor may use (see docs/FORMAT.md, "Data types").
///
/// Block-quantized types store `blockElements` consecutive values of a row in
/// `blockBytes` bytes; the layouts are GGML's, so GGUF weights convert without change.
/// The k-quants (`q4_k`, `q6_k`) are super-blocks of 256 elements whose scales are
/// themselves quantized; the kernels read them 32 elements at a time like the others.
public enum DType: String, Sendable, CaseIterable {
    /// IEEE-754 binary32, 4 bytes an element.
    case f32
    /// IEEE-754 binary16, 2 bytes an element.
    case f16
    /// 34-byte blocks of 32 elements: an f16 scale `d` and 32 signed bytes `q`; element `j`
    /// is `d * q[j]`.
    case q8_0
    /// 20-byte blocks of 32 elements: an f16 scale `d`, an f16 minimum `m` and 32 nibbles `n`;
    /// element `j` is `d * n[j] + m`.
    case q4_1
    /// 22-byte blocks of 32 elements: an f16 scale `d`, 32 fifth bits `qh` (a u32, bit `j`
    /// for element `j`) and 32 nibbles as in `q4_1`; element `j` is `d * (u - 16)` with
    /// `u = nibble | bit << 4`.
    case q5_0
    /// 144-byte super-blocks of 256 elements: f16 `d` and `dmin`, eight 6-bit scale and
    /// minimum pairs `(sc, m)` packed in 12 bytes, and 256 nibbles; element `j` of 32-element
    /// sub-block `s` is `(d * sc) * nibble - (dmin * m)`.
    case q4_k
    /// 210-byte super-blocks of 256 elements: 6-bit values `u` split into low nibbles `ql`
    /// and high bit pairs `qh`, sixteen i8 scales `sc` (one per 16 elements), then an f16 `d`;
    /// element `j` is `(d * sc) * (u - 32)`.
    case q6_k

    /// Number of elements one block encodes.
    public var blockElements: Int {
        switch self {
        case .f32, .f16: 1
        case .q8_0, .q4_1, .q5_0: 32
        case .q4_k, .q6_k: 256
        }
    }

    /// Bytes one block occupies.
    public var blockBytes: Int {
        switch self {
        case .f32: 4
        case .f16: 2
        case .q8_0: 34  // f16 scale, 32 x i8
        case .q4_1: 20  // f16 scale, f16 minimum, 16 bytes of nibbles
        case .q5_0: 22  // f16 scale, u32 of fifth bits, 16 bytes of nibbles
        case .q4_k: 144  // f16 d, f16 dmin, 12 bytes of 6-bit scales and minimums, 128 bytes of nibbles
        case .q6_k: 210  // 128 bytes of low nibbles, 64 of high bit pairs, 16 i8 scales, f16 d
        }
    }

    /// Bytes a row of `elements` values occupies, or nil when `elements` does not fill whole blocks.
    public func rowBytes(elements: Int) -> Int? {
        guard elements >= 0, elements % blockElements == 0 else { return nil }
        return elements / blockElements * blockBytes
    }
}
