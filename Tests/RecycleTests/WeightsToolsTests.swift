import Foundation
import XCTest

/// Runs the Python side's own tests, so that `swift test` is the whole suite: the
/// weights-tools unit tests (format reader/writer, quantizers, converter on tiny GGUFs) and
/// the check of the numpy reference against the Hugging Face fixtures.
final class WeightsToolsTests: XCTestCase {
    func python(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let python = repositoryRoot.appendingPathComponent("weights-tools/.venv/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw TestSetupError.referenceFailed("no venv at \(python.path): run weights-tools/fetch-default first")
        }
        let process = Process()
        process.executableURL = python
        process.arguments = arguments
        process.currentDirectoryURL = repositoryRoot.appendingPathComponent("weights-tools")
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    func testWeightsToolsUnitTests() throws {
        let run = try python(["-m", "unittest", "discover", "-s", ".", "-p", "test_*.py"])
        XCTAssertEqual(run.status, 0, run.output)
    }

    func testNumpyReferenceMatchesHuggingFaceFixtures() throws {
        let run = try python(["check_reference.py", try defaultModelPath()])
        print(run.output)
        XCTAssertEqual(run.status, 0, run.output)
    }

    /// The reference on Gemma 3, teacher-forced through every fixture's 64 steps (its
    /// free-running greedy runs take minutes in numpy; the runtime's own are checked in
    /// GemmaParityTests).
    func testNumpyReferenceMatchesGemmaFixtures() throws {
        let fixtures = repositoryRoot.appendingPathComponent("Tests/RecycleTests/Fixtures/gemma3").path
        let run = try python(["check_reference.py", try gemmaModelPath(), "--fixtures", fixtures, "--no-greedy"])
        print(run.output)
        XCTAssertEqual(run.status, 0, run.output)
    }
}
