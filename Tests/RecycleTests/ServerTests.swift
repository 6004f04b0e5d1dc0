import Foundation
import XCTest

/// `recycle serve` with the real model, from the outside: the official `openai` client, raw
/// sockets with hostile requests, and a bounded load test (Tests/Serve), on 127.0.0.1 only.
final class ServerTests: XCTestCase {
    /// A running server: its process, port and log (stderr, in a file).
    struct Server {
        let process: Process
        let port: Int
        let log: String

        var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        var url: String { "http://127.0.0.1:\(port)/v1" }

        /// SIGTERM, then the exit status.
        func stop() -> Int32 {
            process.terminate()
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    /// Starts `recycle serve --port 0` with `extra` and waits for the line naming its port.
    func startServer(_ extra: [String], cacheHome: String? = nil) throws -> Server {
        let log = try temporaryDirectory() + "/serve.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let process = try recycleProcess(["serve", "-m", try defaultModelPath(), "--port", "0", "-t", "2"] + extra, cacheHome: cacheHome)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        addTeardownBlock { if process.isRunning { process.terminate(); process.waitUntilExit() } }
        for _ in 0..<300 {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if let range = text.range(of: "listening on http://127.0.0.1:") {
                let port = Int(text[range.upperBound...].prefix { $0.isNumber })!
                return Server(process: process, port: port, log: log)
            }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw XCTSkip("the server did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }

    /// Runs a script of Tests/Serve in its pinned venv; returns its JSON output.
    func serveScript(_ script: String, _ arguments: [String]) throws -> [String: Any] {
        let process = Process()
        process.executableURL = repositoryRoot.appendingPathComponent("Tests/Serve/run")
        process.arguments = [script] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, stderr)
        guard let object = try? JSONSerialization.jsonObject(with: stdout) as? [String: Any] else {
            throw XCTSkip("\(script) printed no JSON: \(String(decoding: stdout, as: UTF8.self)) \(stderr)")
        }
        return object
    }

    /// What `recycle generate` says for a prompt: the reference for every server answer.
    func generated(_ prompt: String, tokens: Int, chat: Bool = true) throws -> String {
        let run = try recycle(["generate", "-m", try defaultModelPath(), "-p", prompt, "-n", "\(tokens)", "--json", "--no-cache"]
                              + (chat ? ["--chat"] : []))
        XCTAssertEqual(run.status, 0, run.stderr)
        return (try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any])["text"] as! String
    }

    /// The `openai` client's chat completion, plain and streamed, and a raw completion: the
    /// same text as `recycle generate`, the extras in `usage`, the model listed.
    func testTheOpenAIClient() throws {
        let prompt = "Name three colours of the rainbow."
        let expected = try generated(prompt, tokens: 32)
        let completion = try generated("The capital of France is", tokens: 8, chat: false)
        let server = try startServer(["--drafter", "recycle"])
        let result = try serveScript("client_check.py", [server.url, prompt, "32"])
        XCTAssertEqual(result["chat"] as? String, expected)
        XCTAssertEqual(result["stream"] as? String, expected)
        XCTAssertGreaterThan(result["stream_pieces"] as? Int ?? 0, 1, "streamed in pieces")
        XCTAssertEqual(result["stream_roles"] as? [String], ["assistant"])
        XCTAssertNotNil(result["chat_finish"] as? String)
        XCTAssertEqual(result["stream_finish"] as? String, result["chat_finish"] as? String)
        XCTAssertEqual(result["completion"] as? String, completion)
        XCTAssertEqual(result["models"] as? [String], ["SmolLM2-135M-Instruct-Q4_1"])
        let usage = try XCTUnwrap(result["usage"] as? [String: Any])
        XCTAssertEqual(usage["drafter"] as? String, "recycle")
        XCTAssertGreaterThanOrEqual(usage["mean_accepted"] as? Double ?? 0, 1)
        // The next turn reuses the KV cache of the first (its prompt, at least).
        let follow = try XCTUnwrap(result["follow_usage"] as? [String: Any])
        XCTAssertGreaterThanOrEqual(follow["cached_prompt_tokens"] as? Int ?? 0, usage["prompt_tokens"] as? Int ?? .max)
        XCTAssertEqual(server.stop(), 0)
    }

    /// Malformed and hostile requests get their 4xx (or 501/505) with an OpenAI-style error
    /// body; a slow client gets 408; a client that leaves mid-stream stops its generation; an
    /// API key is checked; SIGTERM stops the server cleanly and saves the matrix.
    func testBadRequestsClientsThatLeaveAndShutdown() throws {
        let matrix = try temporaryDirectory() + "/m.bin"
        let server = try startServer(["--drafter", "recycle", "--timeout", "2", "--matrix", matrix])
        let result = try serveScript("bad_requests.py", ["127.0.0.1", "\(server.port)", "2"])
        XCTAssertEqual(result["failures"] as? [String], [])
        XCTAssertGreaterThan(result["checked"] as? Int ?? 0, 30)
        // The reply the client walked away from stopped long before its 2000 tokens.
        for _ in 0..<100 where !server.logText.contains("stopped: the client went away") { Thread.sleep(forTimeInterval: 0.1) }
        let line = server.logText.split(separator: "\n").first { $0.contains("stopped: the client went away") }
        let generated = line.flatMap { Int($0.components(separatedBy: "), ")[1].split(separator: " ")[0]) }
        XCTAssertLessThan(generated ?? .max, 200, server.logText)
        XCTAssertEqual(server.stop(), 0, server.logText)
        XCTAssertTrue(server.logText.contains("recycle serve: stopped"), server.logText)
        XCTAssertTrue(FileManager.default.fileExists(atPath: matrix), "the matrix is saved at SIGTERM")

        let guarded = try startServer(["--api-key", "s3cret", "--drafter", "none"])
        let statuses = try serveScript("auth_check.py", ["\(guarded.port)", "s3cret"])
        XCTAssertEqual(statuses["none"] as? Int, 401)
        XCTAssertEqual(statuses["wrong"] as? Int, 401)
        XCTAssertEqual(statuses["right"] as? Int, 200)
        XCTAssertEqual(statuses["health"] as? Int, 200)
        XCTAssertEqual(guarded.stop(), 0)
    }

    /// 8 clients x 10 requests at once, plain, streamed and malformed: every one answered,
    /// none lost, every answer the text `recycle generate` gives, and the server still up.
    func testBoundedLoad() throws {
        let prompts = ["What is the capital of France?", "Name a fruit.", "Count from 1 to 10.", "Say hello in French."]
        let expected = try prompts.map { ["prompt": $0, "max_tokens": 24, "text": try generated($0, tokens: 24)] as [String: Any] }
        let path = try temporaryDirectory() + "/expected.json"
        try JSONSerialization.data(withJSONObject: expected).write(to: URL(fileURLWithPath: path))
        let server = try startServer(["--drafter", "hybrid"])
        let result = try serveScript("load_test.py", ["\(server.port)", path, "8", "10"])
        XCTAssertEqual(result["total"] as? Int, 80, "\(result)")
        XCTAssertEqual(result["lost"] as? Int, 0, "\(result)")
        XCTAssertEqual(result["mismatched"] as? Int, 0, "\(result)")
        XCTAssertEqual(result["unexpected"] as? Int, 0, "\(result)")
        XCTAssertEqual(result["bad_request"] as? Int, 16, "\(result)")
        XCTAssertGreaterThan(result["ok"] as? Int ?? 0, 0, "\(result)")
        XCTAssertTrue(server.process.isRunning, server.logText)
        XCTAssertEqual(server.stop(), 0)

        // A queue of one: most requests find it full and get 503 at once; none hangs or is lost.
        let small = try startServer(["--drafter", "hybrid", "--queue", "1"])
        let busy = try serveScript("load_test.py", ["\(small.port)", path, "8", "3"])
        XCTAssertEqual(busy["total"] as? Int, 24, "\(busy)")
        XCTAssertEqual(busy["lost"] as? Int, 0, "\(busy)")
        XCTAssertEqual(busy["mismatched"] as? Int, 0, "\(busy)")
        XCTAssertEqual(busy["unexpected"] as? Int, 0, "\(busy)")
        XCTAssertGreaterThan(busy["busy"] as? Int ?? 0, 0, "\(busy)")
        XCTAssertEqual(small.stop(), 0)
    }
}
