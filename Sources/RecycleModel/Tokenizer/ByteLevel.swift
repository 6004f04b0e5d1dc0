/// GPT-2's reversible mapping between bytes and printable Unicode scalars.
///
/// Byte-level BPE vocabularies write every token as text in which each byte is one
/// printable scalar, so that tokens never contain whitespace or control characters
/// (space is "Ġ", newline "Ċ"). The 188 bytes that are printable Latin-1 map to
/// themselves; the other 68 map, in increasing order, to U+0100, U+0101, ...
enum ByteLevel {
    /// The scalar that stands for each byte.
    static let scalarForByte: [Unicode.Scalar] = {
        var next: UInt32 = 0x100
        return (0...255).map { (byte: UInt32) in
            if isPrintable(byte) { return Unicode.Scalar(byte)! }
            defer { next += 1 }
            return Unicode.Scalar(next)!
        }
    }()

    /// The inverse of `scalarForByte`, indexed by scalar value; -1 outside the alphabet.
    private static let byteForScalarValue: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x100 + 68)
        for (byte, scalar) in scalarForByte.enumerated() {
            table[Int(scalar.value)] = Int16(byte)
        }
        return table
    }()

    /// The byte that `scalar` stands for, or nil if it is not in the alphabet.
    static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        let value = Int(scalar.value)
        guard value < byteForScalarValue.count else { return nil }
        let byte = byteForScalarValue[value]
        return byte < 0 ? nil : UInt8(byte)
    }

    private static func isPrintable(_ byte: UInt32) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }
}
