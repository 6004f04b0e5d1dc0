import Foundation
import RecycleModel

/// Saves and loads a Token Recycling adjacency matrix (`--matrix FILE`), so a hot start can
/// carry over between runs.
///
/// Layout, little-endian: magic `RCYLADJ\0` (8 bytes), u32 version (1), u32 k,
/// u32 vocabulary size, u32 CRC-32 of the rows, then `vocabulary * k` i32 token ids, row by row.
public enum MatrixFile {
    static let magic = Array("RCYLADJ".utf8) + [0]
    static let headerSize = 24

    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        case unreadable(path: String, reason: String)
        case notAMatrixFile(String)
        case mismatch(String)
        case corrupt(String)
        case unwritable(path: String, reason: String)

        public var description: String {
            switch self {
            case let .unreadable(path, reason): "cannot read matrix file \(path): \(reason)"
            case let .notAMatrixFile(path): "\(path) is not a recycle matrix file (bad magic or version)"
            case let .mismatch(why): "matrix file does not fit this model: \(why)"
            case let .corrupt(why): "corrupt matrix file: \(why)"
            case let .unwritable(path, reason): "cannot write matrix file \(path): \(reason)"
            }
        }
    }

    /// Reads a matrix for a `vocabularySize x k` recycler, checking everything first.
    public static func load(path: String, vocabularySize: Int, k: Int) throws(Error) -> [Int32] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        let bytes = [UInt8](data)
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

    /// Writes atomically: a temporary file in the same directory, then a rename, so an
    /// interrupted save never leaves a half-written matrix behind.
    public static func save(_ matrix: [Int32], k: Int, vocabularySize: Int, path: String) throws(Error) {
        var rows = [UInt8]()
        rows.reserveCapacity(matrix.count * 4)
        for v in matrix { withUnsafeBytes(of: v.littleEndian) { rows += $0 } }
        var crc = CRC32()
        rows.withUnsafeBytes { crc.update($0) }
        var bytes = magic
        for v in [UInt32(1), UInt32(k), UInt32(vocabularySize), crc.value] { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        bytes += rows
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        do {
            try Data(bytes).write(to: temporary)
            if rename(temporary.path, url.path) != 0 { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw .unwritable(path: path, reason: error.localizedDescription)
        }
    }

    private static func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
    }
}
