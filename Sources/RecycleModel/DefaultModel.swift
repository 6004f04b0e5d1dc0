#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// Where the tools look for a model when none is named: shared by the `recycle` CLI and
/// the benchmarks, so both find the same file.
public enum DefaultModel {
    /// The file `weights-tools/fetch-default` writes, relative to the repository root.
    public static let relativePath = "models/SmolLM2-135M-Instruct-Q4_1.rcyl"

    /// `$RECYCLE_MODEL` if set; else `models/...` under the current directory or under any
    /// directory above the executable (a build inside the repository finds the repository's).
    public static func locate() throws(NotFound) -> String {
        if let path = ProcessInfo.processInfo.environment["RECYCLE_MODEL"] { return path }
        let fm = FileManager.default
        var candidates = [URL(fileURLWithPath: fm.currentDirectoryPath)]
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        while dir.path != "/" {
            candidates.append(dir)
            dir = dir.deletingLastPathComponent()
        }
        for base in candidates {
            let path = base.appendingPathComponent(relativePath).path
            if fm.fileExists(atPath: path) { return path }
        }
        throw NotFound()
    }

    /// Thrown by `locate()` when no default model exists; its message says how to fetch one.
    public struct NotFound: Error, CustomStringConvertible {
        public var description: String {
            """
            no --model given and the default model was not found (looked for \(relativePath) \
            in the current directory and above the executable).
            Fetch and convert it with: weights-tools/fetch-default
            """
        }
    }
}
