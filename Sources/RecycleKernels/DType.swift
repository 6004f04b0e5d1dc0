/// The element encodings a weight tensor may use (see docs/FORMAT.md, "Data types").
///
/// Block-quantized types store `blockElements` consecutive values of a row in
/// `blockBytes` bytes; the layouts are GGML's, so GGUF weights convert without change.
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

    /// Number of elements one block encodes.
    public var blockElements: Int {
        switch self {
        case .f32, .f16: 1
        case .q8_0, .q4_1: 32
        }
    }

    /// Bytes one block occupies.
    public var blockBytes: Int {
        switch self {
        case .f32: 4
        case .f16: 2
        case .q8_0: 34  // f16 scale, 32 x i8
        case .q4_1: 20  // f16 scale, f16 minimum, 16 bytes of nibbles
        }
    }

    /// Bytes a row of `elements` values occupies, or nil when `elements` does not fill whole blocks.
    public func rowBytes(elements: Int) -> Int? {
        guard elements >= 0, elements % blockElements == 0 else { return nil }
        return elements / blockElements * blockBytes
    }
}
