import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes one fuzz input to a per-process file in /dev/shm (or $TMPDIR) for the APIs that
/// take paths, and returns that path. The file is overwritten by the next input.
func fuzzInputFile(_ bytes: UnsafeRawBufferPointer, suffix: String = "") -> String {
    let dir = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp")
    let path = "\(dir)/recycle-fuzz-\(getpid())\(suffix)"
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    precondition(fd >= 0, "cannot create \(path)")
    var done = 0
    while done < bytes.count {
        let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
        precondition(n > 0, "cannot write \(path)")
        done += n
    }
    close(fd)
    return path
}

/// Little-endian stores into a byte array.
func putU32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) { for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) } }
func putU64(_ b: inout [UInt8], _ at: Int, _ v: UInt64) { for i in 0..<8 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }

/// Splits `bytes` at the first `parts - 1` occurrences of `separator`; nil if there are fewer.
func split(_ bytes: [UInt8], by separator: [UInt8], parts: Int) -> [[UInt8]]? {
    var result: [[UInt8]] = []
    var start = 0, i = 0
    while result.count < parts - 1, i + separator.count <= bytes.count {
        if bytes[i] == separator[0], Array(bytes[i..<(i + separator.count)]) == separator {
            result.append(Array(bytes[start..<i]))
            i += separator.count
            start = i
        } else {
            i += 1
        }
    }
    guard result.count == parts - 1 else { return nil }
    result.append(Array(bytes[start...]))
    return result
}
