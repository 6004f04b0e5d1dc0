#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// An exclusive `flock` on a lock file, held for as long as this object lives.
///
/// A lock file of its own, not the file it guards: that one is replaced by a rename on every
/// save, so its inode cannot carry a lock. The kernel drops the lock when the process ends,
/// however it ends. Taking it never waits: a process that finds it held is told so at once.
public final class FileLock {
    /// Why the lock was not taken.
    public enum Error: Swift.Error {
        /// Another open file description holds the lock (another process, as a rule).
        case busy
        /// The lock file cannot be created or locked; the reason.
        case failed(String)
    }

    private let fd: Int32

    /// Creates the lock file at `path` if needed (mode 0644) and locks it without waiting;
    /// throws `.busy` when another holder has it.
    public init(path: String) throws(Error) {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .failed("cannot create \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let error: Error = errno == EWOULDBLOCK ? .busy : .failed("cannot lock \(path): \(String(cString: strerror(errno)))")
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }
}
