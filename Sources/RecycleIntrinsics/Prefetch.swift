import Swift

/// Asks the CPU to bring the cache line at `p` into every cache level (`prefetcht0` on
/// x86, `prfm pldl1keep` on ARM), to be read soon. It changes no result and faults on no
/// address, so callers may name lines past the end of what they read.
@inlinable @inline(__always)
public func prefetch(_ p: UnsafeRawPointer) {
    Builtin.int_prefetch_RawPointer(p._rawValue, Int32(0)._value, Int32(3)._value, Int32(1)._value)
}

/// `prefetch` of every 64-byte line that holds a byte of `p ..< p + bytes` (`bytes` > 0):
/// one every 64 bytes from `p`, and one at the last byte, which covers the line an
/// unaligned range ends in. With `bytes` a constant the loop unrolls to straight code.
@inlinable @inline(__always)
public func prefetch(_ p: UnsafeRawPointer, bytes: Int) {
    for offset in stride(from: 0, to: bytes, by: 64) { prefetch(p + offset) }
    prefetch(p + (bytes &- 1))
}
