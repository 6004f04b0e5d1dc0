import RecycleIntrinsics
import RecycleKernels
import Synchronization

/// A buffer much larger than the last-level cache, read from end to end: the machine's
/// streaming read bandwidth, the ceiling for anything that streams its weights from memory
/// once per token (decoding).
final class MemoryRead {
    /// Bytes per step of the hot loop: four 64-byte vectors.
    static let step = 256

    let bytes: Int
    private let base: UnsafeMutableRawPointer
    /// Where every pass leaves the xor of all it read, so no load can be optimised away.
    private let sink = Atomic<UInt64>(0)

    /// Allocates `megabytes` MB (10^6 bytes, rounded down to whole steps) and writes every byte:
    /// a page never written maps the kernel's shared zero page, which stays in cache and
    /// would be "read" at cache speed.
    init(megabytes: Int) {
        bytes = megabytes * 1_000_000 / Self.step * Self.step
        base = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 4096)
        var pattern: UInt64 = 0x9E37_79B9_7F4A_7C15
        let words = base.bindMemory(to: UInt64.self, capacity: bytes / 8)
        for i in 0..<(bytes / 8) {
            pattern = pattern &* 6_364_136_223_846_793_005 &+ 1
            words[i] = pattern
        }
    }

    deinit { base.deallocate() }

    /// Reads the whole buffer once, split into `pool.threads` contiguous parts, and returns
    /// the seconds it took.
    func pass(pool: WorkerPool) -> Double {
        let start = ContinuousClock.now
        pool.forEachChunk(of: bytes / Self.step) { steps in
            let lanes = xorAll(UnsafeRawPointer(base) + steps.lowerBound * Self.step, steps: steps.count)
            var folded: UInt64 = 0
            for i in lanes.indices { folded ^= lanes[i] }
            sink.bitwiseXor(folded, ordering: .relaxed)
        }
        let d = start.duration(to: .now)
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// GB/s (10^9 bytes per second) of a pass that took `seconds`.
    func gigabytesPerSecond(_ seconds: Double) -> Double { Double(bytes) / seconds / 1e9 }
}

/// Xor of `steps * 256` bytes from `p` (64-byte aligned), in 64-byte vectors. Four
/// independent accumulators keep several loads in flight per iteration, and each step
/// prefetches the lines 4 kB ahead, as the integer matmul does with its weights: without
/// that, this read was 10-20% slower than with it on the Sapphire Rapids VM, below what
/// decoding itself reached, so it was no ceiling.
///
/// Machine code (`objdump -d .build/release/recycle-bench`, function `xorAll`; release build
/// on the AVX-512 Xeon, Swift 6.3.1): LLVM unrolls the loop to 1 KiB per iteration, 8
/// `vmovdqu64 zmm` loads and 8 `vpternlogq $0x96` (three-way xor) with a zmm memory operand,
/// so every byte is read by a 64-byte vector load; no scalar loads, no stores in the loop.
@inline(never)
private func xorAll(_ p: UnsafeRawPointer, steps: Int) -> SIMD8<UInt64> {
    var a = SIMD8<UInt64>(), b = SIMD8<UInt64>(), c = SIMD8<UInt64>(), d = SIMD8<UInt64>()
    var offset = 0
    for _ in 0..<steps {
        prefetch(p + (offset &+ 4096), bytes: MemoryRead.step)
        a ^= p.load(fromByteOffset: offset, as: SIMD8<UInt64>.self)
        b ^= p.load(fromByteOffset: offset + 64, as: SIMD8<UInt64>.self)
        c ^= p.load(fromByteOffset: offset + 128, as: SIMD8<UInt64>.self)
        d ^= p.load(fromByteOffset: offset + 192, as: SIMD8<UInt64>.self)
        offset += MemoryRead.step
    }
    return a ^ b ^ c ^ d
}
