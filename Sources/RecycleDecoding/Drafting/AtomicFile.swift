#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// Files that a reader only ever sees whole, old or new: matrix files and the state
/// cache's files. One implementation for both, so that both survive a crash the same way.
public enum AtomicFile {
    /// Why a file could not be read or written, with the path and the reason.
    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        /// The file could not be opened or read, or is not a regular file.
        case unreadable(path: String, reason: String)
        /// The file could not be written or put in place.
        case unwritable(path: String, reason: String)

        public var description: String {
            switch self {
            case let .unreadable(path, reason): "cannot read \(path): \(reason)"
            case let .unwritable(path, reason): "cannot write \(path): \(reason)"
            }
        }
    }

    /// A regular file's bytes (a FIFO or a directory is refused, not waited on or read).
    public static func read(path: String) throws(Error) -> [UInt8] {
        let target = try resolve(path)
        func fail(_ reason: String) -> Error { .unreadable(path: path, reason: reason) }
        func failure() -> Error { fail(String(cString: strerror(errno))) }
        // O_NONBLOCK: opening a FIFO would otherwise wait for a writer; it changes nothing
        // for a regular file, the only kind read on.
        let fd = open(target, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw failure() }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure() }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw fail("not a regular file") }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(Int(info.st_size), 1 << 26))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw failure() }
            if count == 0 { return bytes }
            bytes += chunk[..<count]
        }
    }

    /// Writes `bytes` to `path` atomically and durably: a temporary file in the same directory,
    /// flushed to disk, renamed over the target, then the directory flushed, so that neither a
    /// crash nor a power cut leaves a half-written file. A symlink is written through (its
    /// target is replaced, the link stays). A `kill -9` between the temporary file's creation
    /// and the rename leaves it behind; the next holder of the file's lock removes it
    /// (`removeLeftovers`).
    public static func write(_ bytes: [UInt8], path: String) throws(Error) {
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
            let written = rest.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
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

    /// Removes the temporary files that killed saves left in `directory`: those of `name`
    /// only, or of every file when `name` is nil. Only the holder of the lock that guards
    /// those files may call it (another process's save in progress looks the same).
    public static func removeLeftovers(in directory: String, of name: String? = nil) {
        let prefix = name.map(temporaryPrefix) ?? "."
        for leftover in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where leftover.hasPrefix(prefix) && leftover.hasSuffix(".tmp") {
            unlink(directory + "/" + leftover)
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
}
