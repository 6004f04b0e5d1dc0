import Dispatch

/// Splits loops over rows (or heads, or tokens) between a fixed number of threads.
///
/// Built on `DispatchQueue.concurrentPerform`, which costs a few microseconds per call;
/// callers keep calls few by giving each one a whole matrix or a whole layer's heads.
/// With one thread the body runs inline, with no dispatch at all.
public final class WorkerPool: Sendable {
    public let threads: Int

    public init(threads: Int) {
        precondition(threads >= 1, "a pool needs at least one thread")
        self.threads = threads
    }

    /// Calls `body` with disjoint, contiguous ranges that together cover `0..<count`,
    /// concurrently. The partition depends only on `count` and `threads`.
    public func forEachChunk(of count: Int, _ body: (Range<Int>) -> Void) {
        let parts = min(threads, count)
        if parts <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let shared = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: parts) { i in
                shared.value(count * i / parts ..< count * (i + 1) / parts)
            }
        }
    }
}

/// Lets a non-Sendable closure cross into `concurrentPerform`. Safe here because every
/// caller writes disjoint output ranges and reads shared inputs only.
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
