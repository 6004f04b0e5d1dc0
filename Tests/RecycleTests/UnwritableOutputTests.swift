import Foundation
import XCTest

/// Output that cannot be written is an error (exit status 1) that names the problem and still
/// saves the recycler's matrix; it never kills the process.
final class UnwritableOutputTests: XCTestCase {
    func testEveryWayTheOutputCanFail() throws {
        let model = try defaultModelPath()
        let matrix = FileManager.default.temporaryDirectory.appendingPathComponent("matrix-\(UUID().uuidString).bin").path
        let run = ["generate", "-m", model, "-p", "Once upon a time", "-n", "48", "--drafter", "recycle",
                   "--tree", "2.2.2-l1", "--matrix", matrix]
        let cases: [(script: String, arguments: [String], message: String)] = [
            (#""$@" >&-"#, run, "standard output is closed"),
            (#""$@" >/dev/full"#, run, "No space left on device"),
            (#""$@" --json >/dev/full"#, run, "No space left on device"),
            (#"set -o pipefail; "$@" | head -c 10 >/dev/null"#, run, "Broken pipe"),
            (#"echo 'Tell me a story.' | "$@" >&-"#, ["chat", "-m", model] + run.dropFirst(5), "standard output is closed"),
            (#""$@" >/dev/full"#, ["inspect", model], "No space left on device"),
        ]
        for (script, arguments, message) in cases {
            try? FileManager.default.removeItem(atPath: matrix)
            let result = try shell(script, arguments)
            XCTAssertEqual(result.status, 1, "\(script) \(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("cannot write the output: \(message)"), "\(script): \(result.stderr)")
            if arguments.contains("--matrix") {
                XCTAssertTrue(FileManager.default.fileExists(atPath: matrix), "\(script) \(arguments): the matrix is saved")
            }
        }
        try? FileManager.default.removeItem(atPath: matrix)
    }

    /// A closed stderr loses the log lines, and nothing else: the text is still written.
    func testClosedStandardErrorIsNotFatal() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("out-\(UUID().uuidString).txt").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let result = try shell(#""$@" 2>&- >"$OUT""#.replacingOccurrences(of: "$OUT", with: out),
                               ["generate", "-m", try defaultModelPath(), "-p", "Once upon a time", "-n", "8"])
        XCTAssertEqual(result.status, 0)
        XCTAssertFalse(try String(contentsOfFile: out, encoding: .utf8).isEmpty)
    }
}
