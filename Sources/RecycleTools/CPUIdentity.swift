#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import RecycleModel

/// Which CPU this is, as far as measured costs go: a saved cost curve is only worth reading on
/// the same kind of CPU.
enum CPUIdentity {
    /// `uname -m` (e.g. "x86_64"), then, where /proc/cpuinfo says, a short hash of the CPU's
    /// model name and its feature flags ("x86_64-1a2b3c4d"): the name tells the cores apart,
    /// the flags the instruction sets a build can use on them (a VM may hide some).
    static let key: String = {
        var system = utsname()
        uname(&system)
        let machine = withUnsafeBytes(of: &system.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let lines = info.split(separator: "\n")
        let wanted = ["model name", "flags"].compactMap { field in
            lines.first { $0.hasPrefix(field) }.map { $0.drop { $0 != ":" } }
        }
        guard !wanted.isEmpty else { return machine }
        var crc = CRC32()
        Array(wanted.joined(separator: "\n").utf8).withUnsafeBytes { crc.update($0) }
        return machine + "-" + hex8(crc.value)
    }()
}
