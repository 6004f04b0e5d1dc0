import Foundation
import XCTest

/// The `recycle` binary built next to this test bundle, run as a user would. Every run gets
/// its own state cache (`XDG_CACHE_HOME`): a new empty directory unless the test passes one,
/// so that no test reads or writes the user's cache, or depends on what another run left.
extension XCTestCase {
    static let recycleBinary = Bundle.module.bundleURL.deletingLastPathComponent().appendingPathComponent("recycle")

    struct RecycleRun {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// A new empty directory, removed when the test ends.
    func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("recycle-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// This process's environment, with the state cache under `cacheHome` (default: a new
    /// empty directory).
    func recycleEnvironment(cacheHome: String? = nil) throws -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_CACHE_HOME"] = try cacheHome ?? temporaryDirectory()
        return environment
    }

    /// A `recycle` process with `arguments`, not started yet.
    func recycleProcess(_ arguments: [String], cacheHome: String? = nil) throws -> Process {
        let process = Process()
        process.executableURL = Self.recycleBinary
        process.arguments = arguments
        process.environment = try recycleEnvironment(cacheHome: cacheHome)
        return process
    }

    /// Runs `recycle` with `input` on stdin, to the end.
    func recycle(_ arguments: [String], input: String = "", cacheHome: String? = nil) throws -> RecycleRun {
        let process = try recycleProcess(arguments, cacheHome: cacheHome)
        let out = Pipe(), err = Pipe(), stdin = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdin
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return RecycleRun(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                          stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Runs `recycle` from a shell, for what `Process` cannot set up: closed descriptors,
    /// /dev/full, a pipe its reader closes. In `script`, "$@" is the binary and its arguments.
    func shell(_ script: String, _ arguments: [String], cacheHome: String? = nil) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script, "recycle", Self.recycleBinary.path] + arguments
        process.environment = try recycleEnvironment(cacheHome: cacheHome)
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stderr, as: UTF8.self))
    }
}
