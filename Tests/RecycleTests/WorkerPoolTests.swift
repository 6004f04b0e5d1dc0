import Foundation
import RecycleKernels
import Synchronization
import XCTest

final class WorkerPoolTests: XCTestCase {
    /// Many calls in a row, with varying counts: every index is visited exactly once, through
    /// exactly the chunks that depend only on the count and the number of threads.
    func testEveryIndexIsVisitedOnceWithAFixedPartition() {
        for threads in [1, 2, 3, 4, 7] {
            let pool = WorkerPool(threads: threads)
            var rng = TestRandom(seed: UInt64(threads))
            for call in 0..<3000 {
                let count = call % 10 == 0 ? Int(rng.uniform(0, 100_000)) : Int(rng.uniform(0, 40))
                let visits = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
                defer { visits.deallocate() }
                visits.initialize(repeating: 0, count: count)
                let chunks = ranges(pool, count: count) { range in
                    for i in range { visits[i] += 1 }  // ranges are disjoint, so no two threads write one index
                }
                XCTAssertEqual(chunks, expected(count: count, threads: threads), "threads \(threads), count \(count)")
                for i in 0..<count where visits[i] != 1 {
                    XCTFail("threads \(threads), count \(count): index \(i) visited \(visits[i]) times")
                    return
                }
            }
        }
    }

    /// Pools are created and destroyed repeatedly, used or not: no hang, no crash, and (run
    /// under a leak checker or watching the thread count) no thread left behind.
    func testPoolsAreCreatedAndDestroyedRepeatedly() {
        for i in 0..<300 {
            let pool = WorkerPool(threads: 2 + i % 3)
            for count in 0..<(i % 4) {
                XCTAssertEqual(ranges(pool, count: count * 5), expected(count: count * 5, threads: pool.threads))
            }
        }
        XCTAssertLessThan(threadCount(), 64, "worker threads were not joined")
    }

    /// Workers that went to sleep (no call for longer than they spin) wake up for the next call.
    func testSleepingWorkersWakeUp() {
        let pool = WorkerPool(threads: 3)
        for _ in 0..<5 {
            usleep(5_000)
            XCTAssertEqual(ranges(pool, count: 10), expected(count: 10, threads: 3))
        }
    }

    /// The workers do take chunks: with slow chunks, some call runs on more than one thread.
    func testWorkersShareTheWork() {
        let pool = WorkerPool(threads: 2)
        var parallel = false
        for _ in 0..<50 where !parallel {
            let threads = UnsafeMutablePointer<pthread_t>.allocate(capacity: 2)
            defer { threads.deallocate() }
            pool.forEachChunk(of: 2) { range in
                threads[range.lowerBound] = pthread_self()
                usleep(2_000)
            }
            parallel = threads[0] != threads[1]
        }
        XCTAssertTrue(parallel, "no call ever ran on two threads")
    }

    /// A call from inside a body, or from a second thread while a call runs, does not
    /// deadlock: it runs its chunks itself, with the same ranges.
    func testNestedAndConcurrentCallsComplete() {
        let pool = WorkerPool(threads: 2)
        let inner = UnsafeMutablePointer<[Range<Int>]>.allocate(capacity: 2)
        defer { inner.deinitialize(count: 2).deallocate() }
        pool.forEachChunk(of: 2) { range in
            (inner + range.lowerBound).initialize(to: ranges(pool, count: 9))
        }
        for i in 0..<2 { XCTAssertEqual(inner[i], expected(count: 9, threads: 2)) }

        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            for call in 0..<500 where ranges(pool, count: call % 17 + t) != expected(count: call % 17 + t, threads: 2) {
                failures.wrappingAdd(1, ordering: .relaxed)
            }
        }
        XCTAssertEqual(failures.load(ordering: .relaxed), 0)
    }

    /// Threads of this process, from /proc (Linux).
    private func threadCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0
    }
}

/// Runs one call of `body` and returns the ranges it received, in order of their start.
/// (Recorded through an atomic slot counter rather than a `Mutex`, whose futex a thread
/// sanitizer cannot see, so that a TSan run reports only real races.)
private func ranges(_ pool: WorkerPool, count: Int, _ body: (Range<Int>) -> Void = { _ in }) -> [Range<Int>] {
    let slots = UnsafeMutablePointer<Range<Int>>.allocate(capacity: max(count, 1))
    defer { slots.deallocate() }
    let used = Atomic<Int>(0)
    pool.forEachChunk(of: count) { range in
        body(range)
        slots[used.wrappingAdd(1, ordering: .relaxed).oldValue] = range
    }
    return Array(UnsafeBufferPointer(start: slots, count: used.load(ordering: .relaxed))).sorted { $0.lowerBound < $1.lowerBound }
}

/// The chunks the API promises: `min(count, 4 * threads)` of them, or one with one thread.
private func expected(count: Int, threads: Int) -> [Range<Int>] {
    let parts = threads == 1 ? min(count, 1) : min(count, 4 * threads)
    return (0..<parts).map { count * $0 / parts ..< count * ($0 + 1) / parts }
}
