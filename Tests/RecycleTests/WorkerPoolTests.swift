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
                let got = Mutex<[Range<Int>]>([])
                pool.forEachChunk(of: count) { range in
                    for i in range { visits[i] += 1 }  // ranges are disjoint, so no two threads write one index
                    got.withLock { $0.append(range) }
                }
                let chunks = got.withLock { $0 }.sorted { $0.lowerBound < $1.lowerBound }
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
            let threads = Mutex<Set<UInt>>([])
            pool.forEachChunk(of: 2) { _ in
                threads.withLock { _ = $0.insert(UInt(pthread_self())) }
                usleep(2_000)
            }
            parallel = threads.withLock { $0.count } == 2
        }
        XCTAssertTrue(parallel, "no call ever ran on two threads")
    }

    /// A call from inside a body, or from a second thread while a call runs, does not
    /// deadlock: it runs its chunks itself, with the same ranges.
    func testNestedAndConcurrentCallsComplete() {
        let pool = WorkerPool(threads: 2)
        let inner = Mutex<[[Range<Int>]]>([])
        pool.forEachChunk(of: 2) { _ in
            let r = ranges(pool, count: 9)
            inner.withLock { $0.append(r) }
        }
        XCTAssertEqual(inner.withLock { $0 }, [[Range<Int>]](repeating: expected(count: 9, threads: 2), count: 2))

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

/// Runs one call and returns the ranges `body` received, in order of their start.
private func ranges(_ pool: WorkerPool, count: Int) -> [Range<Int>] {
    let seen = Mutex<[Range<Int>]>([])
    pool.forEachChunk(of: count) { range in seen.withLock { $0.append(range) } }
    return seen.withLock { $0 }.sorted { $0.lowerBound < $1.lowerBound }
}

/// The chunks the API promises: `min(count, 4 * threads)` of them, or one with one thread.
private func expected(count: Int, threads: Int) -> [Range<Int>] {
    let parts = threads == 1 ? min(count, 1) : min(count, 4 * threads)
    return (0..<parts).map { count * $0 / parts ..< count * ($0 + 1) / parts }
}
