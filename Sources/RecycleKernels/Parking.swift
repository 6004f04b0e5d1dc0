import Glibc
import Synchronization

/// Where worker threads sleep once spinning has gone on too long, and how they are woken:
/// a pthread mutex and condition variable, plus a count of sleepers so that waking costs a
/// single atomic load (no lock, no system call) while every worker is still spinning.
///
/// Protocol, for a condition `ready()` over some atomic state:
/// - the sleeper calls `sleep(until: ready)`, where `ready` reads that state with a
///   sequentially consistent load;
/// - the waker changes the state with a sequentially consistent store (or read-modify-write)
///   and then calls `wakeAll()`.
/// No wake-up is lost. `sleep` increments `sleepers` (seq_cst) before it evaluates `ready`,
/// and `wakeAll` loads `sleepers` (seq_cst) after the store. In the single total order of
/// seq_cst operations, either the increment comes first, and the waker sees a sleeper and
/// broadcasts under the mutex (the sleeper holds the mutex from before its check until
/// `pthread_cond_wait` releases it, so the broadcast finds it waiting or it has already seen
/// the change), or the waker's load comes first, and then so does its store, which the
/// sleeper's later check therefore sees.
final class Parking: @unchecked Sendable {
    // @unchecked Sendable: `mutex` and `condition` are initialised in `init`, destroyed in
    // `deinit` (when no thread can be using them: the owner joins every thread first) and
    // never moved; between the two, pthread calls on them are thread-safe. `sleepers` is atomic.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    /// Threads inside `sleep`; may briefly overcount (a harmless extra broadcast).
    private let sleepers = Atomic<Int>(0)

    init() {
        // pthread objects must stay at one address, so they live on the heap, not in a property.
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        precondition(pthread_mutex_init(mutex, nil) == 0 && pthread_cond_init(condition, nil) == 0,
                     "cannot create a mutex or condition variable")
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Returns once `ready()` is true, sleeping in between. `ready` runs with the mutex held.
    func sleep(until ready: () -> Bool) {
        pthread_mutex_lock(mutex)
        sleepers.wrappingAdd(1, ordering: .sequentiallyConsistent)
        while !ready() { pthread_cond_wait(condition, mutex) }
        sleepers.wrappingSubtract(1, ordering: .relaxed)
        pthread_mutex_unlock(mutex)
    }

    /// Wakes every sleeper, if there is any, so that it re-evaluates its condition.
    func wakeAll() {
        guard sleepers.load(ordering: .sequentiallyConsistent) > 0 else { return }
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }
}
