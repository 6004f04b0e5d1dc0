#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import RecycleDecoding
import Synchronization

/// Set from the signal handler (Ctrl-C, SIGTERM); every generation's `isCancelled` reads it
/// (the library itself knows no signals). The chat stores false again after a reply it cut.
enum Interrupt {
    static let requested = Atomic<Bool>(false)

    /// Why a generation ended, as reports name it: a cancellation is "interrupted" when a
    /// signal caused it, "stop_string" when a stop string did.
    static func reason(_ result: GenerationResult, stopString: Bool) -> String {
        if stopString { return "stop_string" }
        if result.stopReason == .cancelled && requested.load(ordering: .relaxed) { return "interrupted" }
        return result.stopReason.rawValue
    }
}

/// Ctrl-C (SIGINT) and SIGTERM alike: the first one finishes the current step (or prefill
/// chunk) and stops cleanly, so what was generated is kept and the drafter's state saved; a
/// second one exits at once, for a run that does not stop.
func installInterruptHandler() {
    for signalNumber in [SIGINT, SIGTERM] {
        signal(signalNumber) { _ in
            if Interrupt.requested.exchange(true, ordering: .relaxed) { _exit(130) }
        }
    }
}

/// Lines typed at the chat prompt. Reading polls stdin instead of blocking in `read`, so that
/// an interrupt at the prompt ends the input like Ctrl-D (and the chat saves its state)
/// instead of waiting for a line that may never come: a signal handler cannot stop a
/// blocking read on another thread's behalf.
struct PromptReader {
    private var buffer: [UInt8] = []
    private var atEnd = false

    /// The next line without its line ending; nil at the end of input or on an interrupt.
    mutating func next() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                var line = buffer[..<newline]
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                defer { buffer.removeFirst(newline + 1) }
                return String(decoding: line, as: UTF8.self)
            }
            if atEnd {
                guard !buffer.isEmpty else { return nil }
                defer { buffer = [] }
                return String(decoding: buffer, as: UTF8.self)
            }
            if Interrupt.requested.load(ordering: .relaxed) { return nil }
            var request = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
            guard poll(&request, 1, 100) > 0 else { continue }  // timeout or EINTR: check again
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = read(0, &chunk, chunk.count)
            if count > 0 {
                buffer += chunk[..<count]
            } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                atEnd = true
            }
        }
    }
}
