/// CRC-32 (ISO-HDLC: reflected polynomial 0xEDB88320, as zlib, PNG and gzip compute it).
/// Used by `recycle inspect --verify`; loading a model does not compute it.
public struct CRC32 {
    private static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// The CRC-32 of all bytes passed to `update` so far (0 before any).
    public private(set) var value: UInt32 = 0

    /// A checksum of no bytes yet.
    public init() {}

    /// Extends the checksum with `bytes`; a buffer fed in pieces gives the same `value`.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var c = ~value
        Self.table.withUnsafeBufferPointer { t in
            for byte in bytes { c = t[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        }
        value = ~c
    }
}
