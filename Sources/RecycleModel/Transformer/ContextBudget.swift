#if canImport(Glibc)
import Glibc
#endif

/// What a context of N positions costs in memory, checked before anything is allocated.
///
/// The KV cache is one allocation of `2 * layers * positions * kvDim` floats (plus a RoPE
/// table per distinct base, `positions * headDim` floats each, computed eagerly). A size beyond the machine's memory
/// would abort in the allocator, or first spend seconds filling the RoPE table; refusing it
/// up front turns that into an error the caller can explain.
public enum ContextBudget {
    /// Thrown by `check` when a context's KV cache and RoPE table would not fit in memory.
    public struct TooLarge: Error, Equatable, CustomStringConvertible {
        /// The context length asked for, in positions.
        public let positions: Int
        /// nil when the size does not even fit in an `Int`.
        public let bytes: Int?
        /// The bytes available it was checked against.
        public let memory: Int

        public var description: String {
            let size = bytes.map { gigabytes($0) + " for its KV cache and RoPE table" } ?? "more bytes than a 64-bit size holds"
            return "a context of \(positions) positions needs \(size), more than this machine's \(gigabytes(memory)) of memory"
        }
    }

    /// Bytes of the KV cache and RoPE table for `positions`, or nil on overflow.
    public static func bytes(config c: ModelConfig, positions: Int) -> Int? {
        var total = 0
        for factors in [[2, c.layers, positions, c.kvDim, 4], [c.ropeBases.count, positions, c.headDim, 4]] {
            var product = 1
            for f in factors {
                let (p, overflow) = product.multipliedReportingOverflow(by: f)
                if overflow { return nil }
                product = p
            }
            let (sum, overflow) = total.addingReportingOverflow(product)
            if overflow { return nil }
            total = sum
        }
        return total
    }

    /// Physical memory of this machine, in bytes.
    public static var physicalMemory: Int { Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE))) }

    /// Throws unless a context of `positions` fits in `memory` bytes (by default, all of this
    /// machine's physical memory: a bigger cache could never be filled anyway).
    public static func check(config: ModelConfig, positions: Int, memory: Int = physicalMemory) throws(TooLarge) {
        let needed = bytes(config: config, positions: positions)
        guard let needed, needed <= memory else { throw TooLarge(positions: positions, bytes: needed, memory: memory) }
    }
}

private func gigabytes(_ bytes: Int) -> String {
    let gb = Double(bytes) / 1e9
    return gb >= 10 ? "\(Int(gb.rounded())) GB" : "\((gb * 10).rounded() / 10) GB"
}
