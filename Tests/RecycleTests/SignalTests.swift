import Foundation
import RecycleDecoding
import XCTest

/// SIGTERM behaves like Ctrl-C; an interrupt at the chat prompt ends the chat with its matrix
/// saved; an interrupt during a long prefill is seen within one prefill chunk.
final class SignalTests: XCTestCase {
    func start(_ arguments: [String], input: Pipe? = nil) throws -> (Process, Pipe) {
        let process = try recycleProcess(arguments)
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        if let input { process.standardInput = input }
        try process.run()
        return (process, out)
    }

    /// Ctrl-C (SIGINT) and SIGTERM stop generation cleanly: exit status 0 and the tokens so
    /// far, in valid JSON.
    func testInterruptAndSIGTERMKeepWhatWasGenerated() throws {
        for signal in [SIGINT, SIGTERM] {
            let (process, out) = try start(["generate", "-m", try defaultModelPath(), "-p", "Once upon a time", "-n", "4000", "--json"])
            Thread.sleep(forTimeInterval: 2)
            kill(process.processIdentifier, signal)
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, "signal \(signal)")
            let object = try JSONSerialization.jsonObject(with: stdout) as! [String: Any]
            XCTAssertEqual(object["stop_reason"] as? String, "interrupted", "signal \(signal)")
            let tokens = object["tokens"] as! [Int]
            XCTAssertGreaterThan(tokens.count, 0, "signal \(signal)")
            XCTAssertLessThan(tokens.count, 4000, "signal \(signal)")
        }
    }

    /// Ctrl-C stops a reply; a second Ctrl-C, at the prompt, ends the chat (exit 0) and the
    /// matrix is saved. SIGTERM at the prompt does the same.
    func testInterruptAtTheChatPromptSavesTheMatrix() throws {
        for signals in [[SIGINT, SIGINT], [SIGTERM]] {
            let matrix = FileManager.default.temporaryDirectory.appendingPathComponent("matrix-\(UUID().uuidString).bin").path
            defer { try? FileManager.default.removeItem(atPath: matrix) }
            let input = Pipe()
            let (process, out) = try start(["chat", "-m", try defaultModelPath(), "--drafter", "recycle", "--tree", "2.2.2-l1",
                                            "--matrix", matrix, "-n", signals.count == 2 ? "4000" : "4"], input: input)
            input.fileHandleForWriting.write(Data("Write a very long story about the sea.\n".utf8))
            for signal in signals {
                Thread.sleep(forTimeInterval: 2)
                kill(process.processIdentifier, signal)
            }
            let stdout = out.fileHandleForReading.readDataToEndOfFile()  // ends when the process does: stdin stays open
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, "\(signals)")
            XCTAssertFalse(stdout.isEmpty)
            XCTAssertNoThrow(try MatrixFile.load(path: matrix, vocabularySize: 49152, k: 8), "\(signals)")
            try? input.fileHandleForWriting.close()
        }
    }

    /// A prompt of about 3500 tokens takes several seconds to prefill here; Ctrl-C a second
    /// into it ends the run within about one chunk, with nothing generated.
    func testInterruptDuringALongPrefill() throws {
        let prompt = String(repeating: "The quick brown fox jumps over the lazy dog near the river bank. ", count: 250)
        let (process, out) = try start(["generate", "-m", try defaultModelPath(), "-p", prompt, "-n", "8", "-c", "8192", "--json"])
        Thread.sleep(forTimeInterval: 1.5)
        let sent = Date()
        kill(process.processIdentifier, SIGINT)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let waited = Date().timeIntervalSince(sent)
        XCTAssertEqual(process.terminationStatus, 0)
        let object = try JSONSerialization.jsonObject(with: stdout) as! [String: Any]
        XCTAssertEqual(object["stop_reason"] as? String, "interrupted")
        XCTAssertEqual(object["tokens"] as? [Int], [])
        XCTAssertLessThan(waited, 3, "the interrupt waited for the whole prefill")
    }
}
