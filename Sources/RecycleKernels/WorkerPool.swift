import Glibc

/// Splits loops over rows (or heads, or tokens) between a fixed number of threads.
///
/// A pool of `threads` threads is the calling thread plus `threads - 1` worker threads,
/// created once with the pool and joined when it goes away. After a call the workers spin
/// for some microseconds (`Spin`), then sleep; a call to a hot pool costs well under a
/// microsecond of synchronization, so callers may make a few hundred per forward pass.
/// (The pool used to be `DispatchQueue.concurrentPerform`, which wakes a sleeping Dispatch
/// thread at every call: on a 2-vCPU VM that made two threads decode slower than one.)
/// How a call runs, and the invariants that make it safe, are in `ParallelRegion`.
///
/// With one thread there are no workers, and the body runs inline with no synchronization.
public final class WorkerPool: Sendable {
    /// Threads that run a call, the caller's included; at least 1.
    public let threads: Int
    /// `nil` when `threads == 1`.
    private let region: ParallelRegion?
    private let workers: [pthread_t]

    /// Starts `threads - 1` worker threads, which live as long as the pool (`threads` >= 1).
    public init(threads: Int) {
        precondition(threads >= 1, "a pool needs at least one thread")
        precondition(threads <= ParallelRegion.maxParts, "too many threads")
        self.threads = threads
        guard threads > 1 else {
            region = nil
            workers = []
            return
        }
        let region = ParallelRegion(threads: threads)
        self.region = region
        workers = (1..<threads).map { t in
            var thread = pthread_t()
            // The worker owns one strong reference to its `Worker`, hence to the region,
            // released when its loop returns.
            let context = Unmanaged.passRetained(Worker(region: region, index: t)).toOpaque()
            let created = pthread_create(&thread, nil, { context in
                let worker = Unmanaged<Worker>.fromOpaque(context!).takeRetainedValue()
                worker.region.workerLoop(worker.index)
                return nil
            }, context)
            precondition(created == 0, "cannot start a worker thread (error \(created))")
            return thread
        }
    }

    deinit {
        // No call is running: a call holds a reference to the pool.
        region?.stop()
        for thread in workers { pthread_join(thread, nil) }
    }

    /// Calls `body` with disjoint, contiguous ranges that together cover `0..<count`,
    /// concurrently; returns when every call has returned. The ranges depend only on `count`
    /// and `threads`: `min(count, 4 * threads)` chunks whose sizes differ by at most one (a
    /// few per thread, so that threads that finish early can take over work); one chunk
    /// when `threads == 1`.
    ///
    /// A call made while another call on the same pool is running (from inside `body`, or
    /// from another thread) is allowed: it runs its chunks one after another on its own
    /// thread, with the same ranges.
    public func forEachChunk(of count: Int, _ body: (Range<Int>) -> Void) {
        let parts = ParallelRegion.parts(count: count, threads: threads)
        guard threads > 1, parts > 1 else {
            if count > 0 { body(0..<count) }
            return
        }
        guard let region, region.enter() else {
            for i in 0..<parts { body(ParallelRegion.chunk(i, of: parts, count: count)) }
            return
        }
        defer { region.leave() }
        withoutActuallyEscaping(body) { body in
            withUnsafePointer(to: body) { body in
                region.run(body, count: count, parts: parts)
            }
        }
    }
}

/// What a worker thread is given when it starts.
private final class Worker: Sendable {
    let region: ParallelRegion
    let index: Int

    init(region: ParallelRegion, index: Int) {
        self.region = region
        self.index = index
    }
}
