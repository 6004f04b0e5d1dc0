import Foundation

/// Exclusive use of a matrix file for as long as this object lives.
///
/// Two processes that load one matrix, learn separately and save would each overwrite the
/// other's updates without a word; the second one is refused instead. The lock is an
/// `flock` on `.<name>.lock` next to the matrix (the matrix itself is replaced by a rename on
/// every save, so its inode cannot carry a lock). The kernel drops the lock when the process
/// ends, however it ends. Holding it, this process is the only writer, so any temporary file
/// of the matrix left in the directory is a leftover of a killed save and is removed.
public final class MatrixFileLock {
    /// The matrix file, symlinks resolved: load from and save to this path.
    public let target: String
    private let fd: Int32

    public init(path: String) throws(MatrixFile.Error) {
        target = try MatrixFile.resolve(path)
        let (directory, name) = MatrixFile.split(target)
        guard access(directory, W_OK) == 0 else { throw .unwritable(path: path, reason: "\(directory) is not a writable directory") }
        let lockPath = directory + "/.\(name).lock"
        fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .unwritable(path: path, reason: "cannot create \(lockPath): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let reason = String(cString: strerror(errno))
            close(fd)
            throw busy ? .inUse(path: path) : .unwritable(path: path, reason: "cannot lock \(lockPath): \(reason)")
        }
        let prefix = MatrixFile.temporaryPrefix(name)
        for leftover in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where leftover.hasPrefix(prefix) && leftover.hasSuffix(".tmp") {
            unlink(directory + "/" + leftover)
        }
    }

    deinit { close(fd) }
}
