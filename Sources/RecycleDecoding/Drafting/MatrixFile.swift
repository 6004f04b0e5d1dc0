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

    /// A regular file's bytes (a FIFO or a directory is refused, not waited on or read).
    public static func read(path: String) throws(Error) -> [UInt8] {
        let target = try resolve(path)
        var info = stat()
        // Checked first: reading a FIFO would block until some writer came.
        if stat(target, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
            throw .unreadable(path: path, reason: "not a regular file")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: target)) } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        return [UInt8](data)
    }

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

    /// Writes atomically and durably: a temporary file in the same directory, flushed to disk,
    /// renamed over the target, then the directory flushed, so that neither a crash nor a
    /// power cut leaves a half-written matrix. A symlink is written through (its target is
    /// replaced, the link stays). A `kill -9` between the temporary file's creation and the
    /// rename leaves it behind; `MatrixFileLock` removes such leftovers.
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

    /// Writes `bytes` to `path` atomically and durably (see `save`).
    public static func writeAtomically(_ bytes: [UInt8], path: String) throws(Error) {
        let target = try resolve(path)
        let (directory, name) = split(target)
        let temporary = directory + "/" + temporaryPrefix(name) + "\(getpid()).tmp"
        func fail(_ step: String) -> Error {
            let reason = "\(step): \(String(cString: strerror(errno)))"
            unlink(temporary)
            return .unwritable(path: path, reason: reason)
        }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw fail("cannot create \(temporary)") }
        var rest = bytes[...]
        while !rest.isEmpty {
            let written = rest.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else {
                let error = fail("cannot write \(temporary)")
                close(fd)
                throw error
            }
            rest = rest.dropFirst(written)
        }
        guard fsync(fd) == 0 else {
            let error = fail("cannot flush \(temporary)")
            close(fd)
            throw error
        }
        close(fd)
        guard rename(temporary, target) == 0 else { throw fail("cannot rename \(temporary)") }
        // The rename itself is durable only once the directory is flushed.
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }

    /// The file `path` names, symlinks resolved (a dangling one is an error: writing through
    /// it would create a file somewhere unexpected). A path ending in "/" names a directory:
    /// refused, or saving and loading would each read the path their own way.
    static func resolve(_ path: String) throws(Error) -> String {
        guard !path.isEmpty, !path.hasSuffix("/") else {
            throw .unwritable(path: path, reason: "the path must name a file (it is empty or ends with a slash)")
        }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            // Not there yet: it will be created in its directory, which must exist.
            let (directory, name) = split(path)
            guard let real = realpath(directory, nil) else {
                throw .unwritable(path: path, reason: "\(directory): \(String(cString: strerror(errno)))")
            }
            defer { free(real) }
            return String(cString: real) + "/" + name
        }
        guard let real = realpath(path, nil) else {
            throw .unwritable(path: path, reason: "cannot resolve it: \(String(cString: strerror(errno)))")
        }
        defer { free(real) }
        return String(cString: real)
    }

    /// Directory and file name of a path ("." for a bare name).
    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }

    /// Temporary files of `name` are `.<name>.<pid>.tmp` in its directory.
    static func temporaryPrefix(_ name: String) -> String { ".\(name)." }

    private static func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
    }
}
