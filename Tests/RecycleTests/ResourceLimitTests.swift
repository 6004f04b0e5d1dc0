import Foundation
import RecycleModel
import XCTest

/// Requests the machine cannot serve get a clear error before anything is allocated.
final class ResourceLimitTests: XCTestCase {
    func testContextBudgetArithmetic() throws {
        let config = try defaultModel().config
        // SmolLM2: 2 x 30 layers x 192 floats of keys and values per position, plus 64 of RoPE.
        XCTAssertEqual(ContextBudget.bytes(config: config, positions: 8192), 8192 * (2 * 30 * 192 + 64) * 4)
        XCTAssertNoThrow(try ContextBudget.check(config: config, positions: 8192, memory: 1 << 30))
        XCTAssertThrowsError(try ContextBudget.check(config: config, positions: 1 << 20, memory: 1 << 30))
        var huge = config
        huge.layers = 1 << 40
        XCTAssertNil(ContextBudget.bytes(config: huge, positions: 1 << 24), "overflow is reported, not wrapped")
        // Gemma 3 270M: 2 x 18 layers x 256 floats, and two RoPE tables (global and sliding bases).
        XCTAssertEqual(ContextBudget.bytes(config: try gemmaModel().config, positions: 8192), 8192 * (2 * 18 * 256 + 2 * 256) * 4)
    }

    /// A valid model that declares a 2^24-position context, asked for all of it: refused with
    /// the size it would need (777 GB), instead of an abort in the allocator.
    func testContextTooLargeForTheMachine() throws {
        let path = try patchedDefaultModel(metadata: {
            $0.replacingOccurrences(of: "\"context_length\":8192", with: "\"context_length\":16777216")
        })
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(try Model(path: path).config.contextLength, 1 << 24)
        guard ContextBudget.physicalMemory < ContextBudget.bytes(config: try Model(path: path).config, positions: 1 << 24)! else {
            throw XCTSkip("this machine could hold a 2^24-position cache")
        }
        for arguments in [["generate", "-p", "hi"], ["chat"]] {
            let result = try shell(#"echo hi | "$@""#, arguments + ["-m", path, "-c", "16777216"])
            XCTAssertEqual(result.status, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains("a context of 16777216 positions needs 777 GB for its KV cache and RoPE table, more than this machine's"), result.stderr)
            XCTAssertTrue(result.stderr.contains("lower --context"), result.stderr)
        }
    }
}
