#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// Exclusive use of a matrix file for as long as this object lives.
///
/// Two processes that load one matrix, learn separately and save would each overwrite the
/// other's updates without a word; the second one is refused instead. The lock is a
/// `FileLock` on `.<name>.lock` next to the matrix. Holding it, this process is the only
/// writer, so any temporary file of the matrix left in the directory is a leftover of a
/// killed save and is removed.
public final class MatrixFileLock {
    /// The matrix file, symlinks resolved: load from and save to this path.
    public let target: String
    /// Held, not read: the lock lasts as long as this object.
    private let lock: FileLock

    /// Locks the matrix at `path` (which may not exist yet) and removes leftover temporary
    /// files; throws `.inUse` if another process holds it, `.unwritable` if it cannot write.
    public init(path: String) throws(MatrixFile.Error) {
        target = try MatrixFile.resolve(path)
        let (directory, name) = AtomicFile.split(target)
        guard access(directory, W_OK) == 0 else { throw .unwritable(path: path, reason: "\(directory) is not a writable directory") }
        do { lock = try FileLock(path: directory + "/.\(name).lock") } catch {
            switch error {
            case .busy: throw .inUse(path: path)
            case let .failed(reason): throw .unwritable(path: path, reason: reason)
            }
        }
        AtomicFile.removeLeftovers(in: directory, of: name)
    }
}
