#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import RecycleArguments
import RecycleDecoding

/// Standard output and standard error, written with checked POSIX `write`.
///
/// Foundation's `FileHandle.write` traps on a closed descriptor, a full disk or a closed pipe.
/// Here a failed write of the output is an error that the command reports (exit status 1)
/// once it has saved what it must (the drafter's state); a failed write to stderr is
/// ignored, as there is nowhere left to report it.
enum Output {
    /// Descriptors 0-2 that were closed when the program started. The first read (`prepare`,
    /// first thing in main) also ignores SIGPIPE, so that a closed pipe is an `EPIPE` error
    /// rather than death, and puts /dev/null on the closed ones: otherwise the next file the
    /// program opens would get that number, and a log line could land in a matrix file.
    private static let closedAtStart: Set<Int32> = {
        signal(SIGPIPE, SIG_IGN)
        var closed: Set<Int32> = []
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
            closed.insert(fd)
            _ = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY)  // takes the lowest free number: fd
        }
        return closed
    }()

    static func prepare() { _ = closedAtStart }

    /// Writes `text` to stdout, all of it, or throws a `Failure` naming why it could not.
    static func write(_ text: String) throws(Failure) {
        guard !text.isEmpty else { return }
        guard !closedAtStart.contains(1) else { throw Failure("cannot write the output: standard output is closed") }
        if let error = writeAll(1, text) {
            throw Failure("cannot write the output: \(String(cString: strerror(error)))")
        }
    }

    /// A line on stderr; if stderr cannot be written, the line is dropped.
    static func log(_ text: String) {
        guard !closedAtStart.contains(2) else { return }
        _ = writeAll(2, text + "\n")
    }

    /// Writes every byte of `text` to `fd`, retrying after signals and partial writes; the
    /// `errno` of a failure, nil on success.
    private static func writeAll(_ fd: Int32, _ text: String) -> Int32? {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            bytes = bytes.dropFirst(written)
        }
        return nil
    }
}

/// Streams generated text to stdout. The first write that fails is kept, and stops the
/// generation (nobody reads what follows); the command reports it after saving its state.
struct TextSink {
    private(set) var failure: Failure?

    mutating func write(_ text: String) {
        guard failure == nil else { return }
        do { try Output.write(text) } catch {
            failure = error
            Interrupt.requested.store(true, ordering: .relaxed)
        }
    }

    /// Throws the write failure, if there was one.
    func check() throws(Failure) {
        if let failure { throw failure }
    }
}
