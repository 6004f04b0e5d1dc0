#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import RecycleDecoding
import RecycleModel

/// What drafters learn, kept between processes (`Drafter.persistentState`: Token Recycling's
/// matrix, the measured cost of a verification pass), so that a one-off run starts where the
/// last one stopped instead of from an empty matrix and an unknown cost curve.
///
/// Layout: one directory per model, `<root>/<crc>-<size>`, named by the CRC-32 its weights
/// file stores in its header and the file's size (hashing the file itself would page in the
/// whole lazily mapped model). In it, `.model` parts are `<name>[-<variant>].<ext>`
/// (`matrix-k8.bin`), and `.machine` parts add the CPU and the thread count
/// (`costs-x86_64-1a2b3c4d-t2.json`). Deleting any of it is always safe: a missing file is a
/// fresh start.
///
/// Nothing here is fatal, since the cache only ever saves time: a file that cannot be read,
/// is corrupt or fits another configuration is reported, and its part starts fresh (the next
/// save replaces the file); a directory that cannot be made or locked means running without
/// the cache. Saving is one process's job at a time: opening takes a `FileLock` on the model
/// directory's `.lock` until the process ends; a process that finds it taken still loads
/// (every file is written atomically, so it reads whole copies) but does not save, so
/// neither process loses the other's state to an interleaved write, and neither waits.
public final class StateCache {
    /// The model's directory, where its parts are kept.
    public let directory: String
    /// This process's right to save; nil when another process holds it. Held, not read.
    private let lock: FileLock?
    /// `<cpu>-t<threads>`: the machine, in the file names of `.machine` parts.
    private let machine: String
    /// Where warnings go, one line each.
    private let warn: (String) -> Void
    /// The bytes each file held when loaded, so that a save leaves unchanged files alone.
    private var loaded: [String: [UInt8]] = [:]

    /// The cache for `model` run with `threads` threads, its directory created if need be and
    /// locked for saving; nil, after a warning, when it cannot be used.
    public static func open(model: WeightsFile, threads: Int,
                            environment: [String: String] = ProcessInfo.processInfo.environment,
                            warn: @escaping (String) -> Void) -> StateCache? {
        guard let root = root(environment: environment) else {
            warn("state cache: neither XDG_CACHE_HOME nor HOME is an absolute path; running without the cache")
            return nil
        }
        let directory = root + "/" + hex8(model.storedChecksum) + "-\(model.fileSize)"
        let lock: FileLock?
        do {
            try makeDirectories(directory)
            lock = try FileLock(path: directory + "/.lock")
        } catch {
            switch error {
            case .busy:
                warn("state cache: \(directory) is in use by another recycle process; this one will not save to it")
                lock = nil
            case let .failed(reason):
                warn("state cache: cannot use \(directory): \(reason); running without the cache")
                return nil
            }
        }
        // Only the lock's holder writes here, so a temporary file is a killed save's leftover.
        if lock != nil { AtomicFile.removeLeftovers(in: directory) }
        return StateCache(directory: directory, lock: lock, machine: "\(CPUIdentity.key)-t\(threads)", warn: warn)
    }

    private init(directory: String, lock: FileLock?, machine: String, warn: @escaping (String) -> Void) {
        self.directory = directory
        self.lock = lock
        self.machine = machine
        self.warn = warn
    }

    /// `$XDG_CACHE_HOME/recycle` when that is an absolute path (the XDG base directory rules
    /// ignore a relative one), else `$HOME/.cache/recycle`; nil when neither is absolute.
    public static func root(environment: [String: String]) -> String? {
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") { return xdg + "/recycle" }
        if let home = environment["HOME"], home.hasPrefix("/") { return home + "/.cache/recycle" }
        return nil
    }

    /// Restores every part that has a saved copy; a missing file leaves its part as it is,
    /// silently, and a bad one with a warning.
    public func load(_ parts: [any PersistentState]) {
        for part in parts {
            let path = path(of: part)
            var info = stat()
            if lstat(path, &info) != 0 && errno == ENOENT { continue }
            do {
                let bytes = try AtomicFile.read(path: path)
                try part.restore(from: bytes, source: path)
                loaded[path] = bytes
            } catch {
                warn("state cache: ignoring \(path): \(error)")
            }
        }
    }

    /// Saves every part that changed since it was loaded, atomically and durably, unless
    /// another process holds the cache; a failure is a warning.
    public func save(_ parts: [any PersistentState]) {
        guard lock != nil else { return }
        for part in parts {
            let path = path(of: part), bytes = part.encoded()
            guard loaded[path] != bytes else { continue }
            do {
                try AtomicFile.write(bytes, path: path)
                loaded[path] = bytes
            } catch {
                warn("state cache: \(error)")
            }
        }
    }

    /// The file that holds `part`'s saved copy.
    func path(of part: any PersistentState) -> String {
        var name = part.name
        if !part.variant.isEmpty { name += "-" + part.variant }
        if part.scope == .machine { name += "-" + machine }
        return directory + "/" + name + "." + part.fileExtension
    }

    /// Creates `path` and its missing parents, the new ones with mode 0700 (what a user's runs
    /// learn is nobody else's business). Fails as the lock file that goes in it would.
    private static func makeDirectories(_ path: String) throws(FileLock.Error) {
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            guard mkdir(prefix, 0o700) != 0 else { continue }
            let error = errno
            var info = stat()
            guard error == EEXIST, stat(prefix, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
                throw .failed("cannot create \(prefix): \(error == EEXIST ? "not a directory" : String(cString: strerror(error)))")
            }
        }
    }
}
