import Glibc
import Synchronization

/// The state a `WorkerPool` shares with its worker threads: the current parallel region
/// (one `forEachChunk` call), how its chunks are handed out, and how its end is seen.
///
/// How a region runs. A region of `count` items is cut into `parts` chunks (`chunk(_:of:
/// count:)`, which depends only on `count` and `parts`), and the chunks are dealt out in
/// contiguous runs, one run per thread: thread 0 is the calling thread, threads 1... are the
/// workers. Each thread has a queue, a `ChunkQueue` word on a cache line of its own holding
/// the unclaimed part `next..<end` of its run. A thread claims its own chunks from the front
/// (a compare-and-swap of `next` to `next + 1`, on a line no other thread touches while the
/// work is balanced); once its run is exhausted it steals from the back of the others' queues
/// (a compare-and-swap of `end` to `end - 1`). Every thread counts the chunks it ran and adds
/// the count to `finished` once it finds nothing left; the caller returns when `finished ==
/// parts`. So which thread runs a chunk can vary, never what a chunk is; and a worker that is
/// slow to come (asleep, or preempted on a busy machine) never holds the caller up for more
/// than the chunk it is running.
///
/// Invariants (an earlier spinning pool crashed; these are what make this one safe):
/// 1. Ownership of the job. `job` and the closure it points to belong to the caller, which
///    stays inside `forEachChunk` (so the closure, on its stack, stays alive) until
///    `finished == parts`. A thread reads `job` only after winning a claim in the current
///    region and before it reports that chunk in `finished`, so the caller cannot rewrite
///    `job` under it. A thread that loses a claim, or finds nothing, never touches `job`.
/// 2. The closure's references. The closure is called through a pointer (no reference is
///    kept in shared state). `runChunk` is not inlined: any retain of the closure's context
///    it makes is balanced before it returns, hence before the chunk is reported, so
///    `withoutActuallyEscaping` in the caller finds the closure unshared when it checks.
/// 3. Memory ordering. The caller writes `job` and `finished = 0`, then publishes the queues
///    with seq_cst stores. A winning claim is an acquiring compare-and-swap that reads such a
///    store (or a later claim in its release sequence), so the winner sees the job. A
///    thread's chunks' writes happen before its releasing (seq_cst) addition to `finished`,
///    and the caller's acquiring load that sees `finished == parts` makes all of them visible
///    to the caller. By then every queue is empty (`next == end`), so nothing can be claimed
///    until the next region is published. A claim that expects a word seen in an earlier
///    region either fails or (if the new region published the very same word) succeeds as a
///    claim in the new region, whose job the winner then reads: a thread always runs a chunk
///    of the region that is current. And one report never mixes regions: a region cannot
///    end while a thread holds unreported chunks of it.
/// 4. One region at a time. `busy` admits one caller; a call that finds the region busy
///    (a nested call from inside a body, or a second thread using the same pool) runs its
///    chunks itself, one after another, instead of waiting (which could deadlock).
/// 5. Sleeping. Workers wait for their own queue to get work, the caller for `finished ==
///    parts`: each spins a while and then sleeps in a `Parking`, whose protocol (seq_cst
///    store, then `wakeAll`) rules out lost wake-ups.
/// 6. Shutdown. The pool sets `stop` in every worker's queue (only when no region is running:
///    `deinit` of the pool cannot overlap a call), wakes the sleepers, and joins every
///    worker; a worker returns from `workerLoop` when it sees `stop`. Workers hold a strong
///    reference to this object until they exit, so it outlives them.
final class ParallelRegion: @unchecked Sendable {
    // @unchecked Sendable: the shared fields are atomics, `Parking`s (thread-safe) and `job`,
    // whose accesses are ordered by invariants 1 and 3. `queues` is allocated in `init`,
    // freed in `deinit`, and its elements are only accessed through their atomics.

    let threads: Int
    /// The current region's job. Written by the caller only while no chunk is claimable.
    private let job: UnsafeMutablePointer<Job>
    /// `threads` queues, 128 bytes apart (a pair of cache lines, which Intel's adjacent-line
    /// prefetcher fetches together).
    private let queues: UnsafeMutablePointer<ChunkQueue>
    /// Chunks of the current region that have finished and been reported.
    private let finished = Atomic<Int>(0)
    /// True while a caller is running a region.
    private let busy = Atomic<Bool>(false)
    /// Where idle workers sleep.
    private let idle = Parking()
    /// Where the caller sleeps if the last chunks take long.
    private let waiting = Parking()

    init(threads: Int) {
        self.threads = threads
        job = .allocate(capacity: 1)
        job.initialize(to: Job(body: nil, count: 0, parts: 0))
        let raw = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<ChunkQueue>.stride * threads, alignment: 128)
        queues = raw.bindMemory(to: ChunkQueue.self, capacity: threads)
        for t in 0..<threads { (queues + t).initialize(to: ChunkQueue()) }
    }

    deinit {
        queues.deinitialize(count: threads)
        UnsafeMutableRawPointer(queues).deallocate()
        job.deallocate()
    }

    /// The body of one region and how it is cut.
    struct Job {
        /// Points at the caller's closure; valid while the region runs (invariant 1).
        var body: UnsafePointer<(Range<Int>) -> Void>?
        var count: Int
        var parts: Int
    }

    /// The most chunks one region can have (the width of a field of `Run`).
    static let maxParts = Run.fieldMask

    /// How many chunks a region of `count` items on `threads` threads has: a few per thread, so
    /// that a thread that finishes early (the items take unequal time, or another thread
    /// started late) can take over some of the remaining work; at most one item per chunk.
    static func parts(count: Int, threads: Int) -> Int {
        min(count, threads * Spin.chunksPerThread, maxParts)
    }

    /// Chunk `i` of `parts` of `0..<count`: contiguous, disjoint, covering, sizes within one.
    static func chunk(_ i: Int, of parts: Int, count: Int) -> Range<Int> {
        count * i / parts ..< count * (i + 1) / parts
    }

    /// Admits one caller at a time (invariant 4); `false` if a region is already running.
    func enter() -> Bool { !busy.exchange(true, ordering: .acquiring) }

    func leave() { busy.store(false, ordering: .releasing) }

    /// Runs one region on the calling thread and the workers; returns when every chunk has
    /// finished. The caller must have entered.
    func run(_ body: UnsafePointer<(Range<Int>) -> Void>, count: Int, parts: Int) {
        job.pointee = Job(body: body, count: count, parts: parts)
        finished.store(0, ordering: .relaxed)
        for t in 0..<threads {
            let run = Run(next: parts * t / threads, end: parts * (t + 1) / threads)
            queues[t].word.store(run.raw, ordering: .sequentiallyConsistent)
        }
        idle.wakeAll()
        work(as: 0)
        // What is left runs on workers that claimed it: spin while it is likely to end soon,
        // then sleep so that this core is free (for a preempted worker, on a busy machine).
        let deadline = monotonicNanoseconds() + Spin.callerNanoseconds
        var spins = 0
        while finished.load(ordering: .acquiring) != parts {
            spins += 1
            if spins % Spin.clockCheckInterval == 0 && monotonicNanoseconds() > deadline {
                waiting.sleep { finished.load(ordering: .sequentiallyConsistent) == parts }
                break
            }
        }
    }

    /// Stops every worker: they return from `workerLoop`. Only when no region runs.
    func stop() {
        for t in 1..<threads { queues[t].word.store(Run.stop.raw, ordering: .sequentiallyConsistent) }
        idle.wakeAll()
    }

    /// Worker `t`'s life: wait for work in its queue, help with the region, repeat until `stop`.
    func workerLoop(_ t: Int) {
        while true {
            if waitForWork(t).stopping { return }
            work(as: t)
        }
    }

    /// Runs chunks of the current region, thread `t`'s own first, then others' (from the
    /// back of their queues), until none is left to claim; then reports them.
    private func work(as t: Int) {
        var ran = 0, parts = 0
        for v in 0..<threads {
            let q = (t + v) % threads
            var run = Run(raw: queues[q].word.load(ordering: .relaxed))
            while run.hasWork {
                let claimed = q == t ? run.claimingFront : run.claimingBack
                let (won, current) = queues[q].word.compareExchange(
                    expected: run.raw, desired: claimed.raw, successOrdering: .acquiring, failureOrdering: .relaxed)
                if won {
                    parts = runChunk(q == t ? run.next : run.end - 1)
                    ran += 1
                    run = claimed
                } else {
                    run = Run(raw: current)
                }
            }
        }
        guard ran > 0 else { return }
        // `parts` was read while this thread's chunks were unreported, so from this region.
        if finished.wrappingAdd(ran, ordering: .sequentiallyConsistent).newValue == parts { waiting.wakeAll() }
    }

    /// Runs chunk `i` of the current job; returns the job's `parts`. Not inlined, so that
    /// whatever it retains is released before the chunk is reported (invariant 2).
    @inline(never)
    private func runChunk(_ i: Int) -> Int {
        let j = job.pointee
        j.body!.pointee(Self.chunk(i, of: j.parts, count: j.count))
        return j.parts
    }

    /// Spins on worker `t`'s queue for a while (the next region of a forward pass usually
    /// comes within microseconds), then sleeps until it has work or the order to stop.
    private func waitForWork(_ t: Int) -> Run {
        let deadline = monotonicNanoseconds() + Spin.workerNanoseconds
        var spins = 0
        while true {
            let run = Run(raw: queues[t].word.load(ordering: .relaxed))
            if run.hasWork || run.stopping { return run }
            spins += 1
            if spins % Spin.clockCheckInterval == 0 && monotonicNanoseconds() > deadline { break }
        }
        var run = Run.empty
        idle.sleep {
            run = Run(raw: queues[t].word.load(ordering: .sequentiallyConsistent))
            return run.hasWork || run.stopping
        }
        return run
    }
}

/// The unclaimed chunks `next..<end` of one thread's run, packed into one word so that a
/// claim is a single compare-and-swap: bits 0..<31 `next`, bits 31..<62 `end`, bit 62 the
/// order to stop (worker queues only).
struct Run {
    static let fieldBits = 31
    static let fieldMask = (1 << fieldBits) - 1
    static let stop = Run(raw: 1 << (2 * fieldBits))
    static let empty = Run(raw: 0)

    var raw: Int

    init(raw: Int) { self.raw = raw }

    init(next: Int, end: Int) { raw = end << Self.fieldBits | next }

    var next: Int { raw & Self.fieldMask }
    var end: Int { (raw >> Self.fieldBits) & Self.fieldMask }
    var stopping: Bool { raw & Self.stop.raw != 0 }
    var hasWork: Bool { next < end }
    /// After the owner takes chunk `next`.
    var claimingFront: Run { Run(next: next + 1, end: end) }
    /// After another thread takes chunk `end - 1`.
    var claimingBack: Run { Run(next: next, end: end - 1) }
}

/// One thread's `Run`, alone on 128 bytes so that claiming its own chunks does not move
/// another thread's cache line.
struct ChunkQueue: ~Copyable {
    let word = Atomic<Int>(Run.empty.raw)
    private let padding: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
}

/// How work is cut and how long threads spin before they sleep.
///
/// Spinning is short on purpose. Within a forward pass the next region comes within a
/// microsecond or two, so a hot worker never sleeps there. On a machine where other
/// processes take a core, a long spin is what made 2 threads slower than 1 (the spinning
/// thread burns the time slice its partner needs): forward N = 1 on 2 threads with one
/// other busy process took 1.45x the 1-thread time with 200/100 µs spins and about 1.1x
/// with 20/50 µs, while on a quiet machine both ran at the same speed.
enum Spin {
    /// Chunks per thread in a large region.
    static let chunksPerThread = 4
    /// A worker spins this long after its last chunk before it sleeps (it then sleeps between
    /// tokens of a decode loop and is woken at the next one's first region).
    static let workerNanoseconds = 20_000
    /// The caller spins this long for the workers' last chunks before it sleeps: about one
    /// chunk of the larger decode matmuls, so that it rarely pays a wake-up there.
    static let callerNanoseconds = 50_000
    /// Spins between two reads of the clock.
    static let clockCheckInterval = 64
}

@inline(__always)
private func monotonicNanoseconds() -> Int {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return t.tv_sec * 1_000_000_000 + t.tv_nsec
}
