import RecycleModel

/// Saves and loads a Token Recycling adjacency matrix (`--matrix FILE`), so a hot start can
/// carry over between runs.
///
/// Layout, little-endian: magic `RCYLADJ\0` (8 bytes), u32 version (1), u32 k,
/// u32 vocabulary size, u32 CRC-32 of the rows, then `vocabulary * k` i32 token ids, row by row.
public enum MatrixFile {
    static let magic = Array("RCYLADJ".utf8) + [0]
    static let headerSize = 24

    /// Why a matrix file could not be loaded or saved; every case says what is wrong.
    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        /// The file could not be opened or read, or is not a regular file.
        case unreadable(path: String, reason: String)
        /// Shorter than the header, or a wrong magic or version; carries the file's path.
        case notAMatrixFile(String)
        /// The file's `k` or vocabulary size differs from this run's.
        case mismatch(String)
        /// Wrong length, checksum mismatch, or a token id outside the vocabulary.
        case corrupt(String)
        /// The file or its directory could not be written.
        case unwritable(path: String, reason: String)
        /// Another process holds the file's lock (see `MatrixFileLock`).
        case inUse(path: String)

        public var description: String {
            switch self {
            case let .unreadable(path, reason): "cannot read matrix file \(path): \(reason)"
            case let .notAMatrixFile(path): "\(path) is not a recycle matrix file (bad magic or version)"
            case let .mismatch(why): "matrix file does not fit this model: \(why)"
            case let .corrupt(why): "corrupt matrix file: \(why)"
            case let .unwritable(path, reason): "cannot write matrix file \(path): \(reason)"
            case let .inUse(path):
                "matrix file \(path) is in use by another recycle process (two writers would lose one side's updates)"
            }
        }
    }

    /// Reads a matrix for a `vocabularySize x k` recycler, checking everything first.
    public static func load(path: String, vocabularySize: Int, k: Int) throws(Error) -> [Int32] {
        try decode(try read(path: path), source: path, vocabularySize: vocabularySize, k: k)
    }

    /// A regular file's bytes (see `AtomicFile.read`).
    public static func read(path: String) throws(Error) -> [UInt8] {
        do { return try AtomicFile.read(path: path) } catch { throw Error(error) }
    }

    /// The shape a matrix file's header declares (nil: not a matrix file), to read a file
    /// whose model is not known yet (`recycle inspect`).
    public static func shape(of bytes: [UInt8]) -> (k: Int, vocabularySize: Int)? {
        guard bytes.count >= headerSize, Array(bytes[0..<8]) == magic, u32(bytes, 8) == 1 else { return nil }
        return (Int(u32(bytes, 12)), Int(u32(bytes, 16)))
    }

    /// Whether `prefix` (a file's first 8 bytes or more) starts like a matrix file.
    public static func hasMagic(_ prefix: [UInt8]) -> Bool { prefix.starts(with: magic) }

    /// Checks and decodes a matrix's bytes; `source` names them in errors.
    public static func decode(_ bytes: [UInt8], source path: String, vocabularySize: Int, k: Int) throws(Error) -> [Int32] {
        guard bytes.count >= headerSize, Array(bytes[0..<8]) == magic, u32(bytes, 8) == 1 else {
            throw .notAMatrixFile(path)
        }
        let fileK = Int(u32(bytes, 12)), fileVocabulary = Int(u32(bytes, 16))
        guard fileK == k else { throw .mismatch("it holds k = \(fileK) candidates per token, this run uses k = \(k)") }
        guard fileVocabulary == vocabularySize else {
            throw .mismatch("it is for a vocabulary of \(fileVocabulary) tokens, the model has \(vocabularySize)")
        }
        let payload = bytes[headerSize...]
        guard payload.count == vocabularySize * k * 4 else {
            throw .corrupt("\(payload.count) bytes of rows, expected \(vocabularySize * k * 4) (truncated?)")
        }
        var crc = CRC32()
        payload.withUnsafeBytes { crc.update($0) }
        guard crc.value == u32(bytes, 20) else { throw .corrupt("checksum mismatch") }
        let values = payload.withUnsafeBytes { raw in
            (0..<(vocabularySize * k)).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
        }
        if let bad = values.first(where: { $0 < 0 || Int($0) >= vocabularySize }) {
            throw .corrupt("token id \(bad) is outside the vocabulary")
        }
        return values
    }

    /// Writes atomically and durably (see `AtomicFile.write`).
    public static func save(_ matrix: [Int32], k: Int, vocabularySize: Int, path: String) throws(Error) {
        try writeAtomically(encode(matrix, k: k, vocabularySize: vocabularySize), path: path)
    }

    /// The file format's bytes for a matrix.
    public static func encode(_ matrix: [Int32], k: Int, vocabularySize: Int) -> [UInt8] {
        var rows = [UInt8]()
        rows.reserveCapacity(matrix.count * 4)
        for v in matrix { withUnsafeBytes(of: v.littleEndian) { rows += $0 } }
        var crc = CRC32()
        rows.withUnsafeBytes { crc.update($0) }
        var bytes = magic
        for v in [UInt32(1), UInt32(k), UInt32(vocabularySize), crc.value] { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        return bytes + rows
    }

    /// Writes `bytes` to `path` atomically and durably (see `AtomicFile.write`).
    public static func writeAtomically(_ bytes: [UInt8], path: String) throws(Error) {
        do { try AtomicFile.write(bytes, path: path) } catch { throw Error(error) }
    }

    /// The file `path` names (see `AtomicFile.resolve`).
    static func resolve(_ path: String) throws(Error) -> String {
        do { return try AtomicFile.resolve(path) } catch { throw Error(error) }
    }

    private static func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
    }
}

extension MatrixFile.Error {
    /// A file-system error, worded for a matrix file.
    init(_ error: AtomicFile.Error) {
        switch error {
        case let .unreadable(path, reason): self = .unreadable(path: path, reason: reason)
        case let .unwritable(path, reason): self = .unwritable(path: path, reason: reason)
        }
    }
}
