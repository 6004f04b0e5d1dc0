import Foundation
import RecycleDecoding
import RecycleTools
import XCTest

/// The state cache through the CLI: a second run starts hot (a learned matrix and cost
/// curve) with the same tokens; bad files, an unusable directory and a second process at
/// once are warnings, never failures or lost state.
/// A raw prompt that repeats itself (the model goes on counting).
let repeating = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2, 3, 4, 5,"

final class StateCacheTests: XCTestCase {
    var cacheHome: String!

    override func setUpWithError() throws { cacheHome = try temporaryDirectory() }

    /// `recycle generate --json` on a short raw prompt, in this test's cache. The default one
    /// repeats itself, so a suffix match makes drafting promising from the first step and the
    /// first run measures its cost curve.
    func generate(_ extra: [String], prompt: String = repeating, cacheHome: String? = nil) throws
        -> (object: [String: Any], stderr: String) {
        let run = try recycle(["generate", "-m", try defaultModelPath(), "-p", prompt, "-n", "24", "--json"] + extra,
                              cacheHome: cacheHome ?? self.cacheHome)
        XCTAssertEqual(run.status, 0, run.stderr)
        return (try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any], run.stderr)
    }

    /// The file of the model's cache directory whose name starts with `prefix` and ends with `suffix`.
    func cacheFile(_ directory: String, _ prefix: String, _ suffix: String = "") throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        let name = try XCTUnwrap(names.first { $0.hasPrefix(prefix) && $0.hasSuffix(suffix) }, "\(prefix)*\(suffix) in \(names)")
        return directory + "/" + name
    }

    func testSecondRunStartsHotWithTheSameTokens() throws {
        let recycle = ["--drafter", "hybrid"]
        let first = try generate(recycle + ["-t", "2"]).object
        let directory = try XCTUnwrap(first["cache"] as? String)
        XCTAssertTrue(directory.hasPrefix(cacheHome + "/recycle/"), directory)
        let matrix = try MatrixFile.load(path: directory + "/matrix-k8.bin", vocabularySize: 49152, k: 8)
        XCTAssertTrue(matrix.contains { $0 != 0 }, "the matrix learned something")
        let costs = try cacheFile(directory, "costs-", "-t2.json")
        let curve = CostCurve()
        XCTAssertNoThrow(try curve.restore(from: [UInt8](Data(contentsOf: URL(fileURLWithPath: costs))), source: costs))
        XCTAssertGreaterThan(curve.points[0]?.count ?? 0, 1, "passes of one node and of trees were timed")

        let second = try generate(recycle + ["-t", "2"])
        XCTAssertEqual(second.object["tokens"] as? [Int], first["tokens"] as? [Int])
        XCTAssertFalse(second.stderr.contains("state cache"), second.stderr)
        let plain = try generate(["--drafter", "none", "-t", "2"]).object
        XCTAssertEqual(plain["tokens"] as? [Int], first["tokens"] as? [Int])
        XCTAssertTrue(plain["cache"] is NSNull, "no drafter, no state")

        let otherThreads = try generate(recycle + ["-t", "1"]).object
        XCTAssertEqual(otherThreads["tokens"] as? [Int], first["tokens"] as? [Int])
        XCTAssertNoThrow(try cacheFile(directory, "costs-", "-t1.json"))
    }

    /// A corrupt file is a warning naming it; its part starts fresh and the file is replaced.
    func testCorruptFilesAreReplaced() throws {
        let first = try generate(["--drafter", "hybrid", "-t", "2"]).object
        let directory = try XCTUnwrap(first["cache"] as? String)
        let matrix = directory + "/matrix-k8.bin", costs = try cacheFile(directory, "costs-", "-t2.json")
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: matrix))
        try Data("{".utf8).write(to: URL(fileURLWithPath: costs))
        let second = try generate(["--drafter", "hybrid", "-t", "2"])
        XCTAssertTrue(second.stderr.contains("state cache: ignoring \(matrix): "), second.stderr)
        XCTAssertTrue(second.stderr.contains("state cache: ignoring \(costs): "), second.stderr)
        XCTAssertEqual(second.object["tokens"] as? [Int], first["tokens"] as? [Int])
        XCTAssertNoThrow(try MatrixFile.load(path: matrix, vocabularySize: 49152, k: 8))
        XCTAssertNoThrow(try CostCurve().restore(from: [UInt8](Data(contentsOf: URL(fileURLWithPath: costs))), source: costs))
    }

    /// `--no-cache`, and a drafter with nothing to keep, create nothing.
    func testNothingIsWrittenWithoutACache() throws {
        for extra in [["--drafter", "recycle", "--no-cache"], ["--drafter", "none"], ["--drafter", "pld"]] {
            XCTAssertTrue(try generate(extra).object["cache"] is NSNull, "\(extra)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cacheHome), [])
    }

    /// With `--matrix`, the matrix goes to its file and the costs to the cache.
    func testMatrixFileTakesTheMatrixOnly() throws {
        let file = cacheHome + "/m.bin"
        let object = try generate(["--drafter", "recycle", "--matrix", file]).object
        let directory = try XCTUnwrap(object["cache"] as? String)
        XCTAssertNoThrow(try MatrixFile.load(path: file, vocabularySize: 49152, k: 8))
        XCTAssertNoThrow(try cacheFile(directory, "costs-"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/matrix-k8.bin"))
    }

    /// A cache directory that cannot be made: a warning, and the run goes on without it.
    func testUnusableDirectoryIsAWarning() throws {
        let file = cacheHome + "/not-a-directory"
        try Data().write(to: URL(fileURLWithPath: file))
        let run = try generate(["--drafter", "recycle"], cacheHome: file)
        XCTAssertTrue(run.stderr.contains("state cache: cannot use \(file)/recycle/"), run.stderr)
        XCTAssertTrue(run.object["cache"] is NSNull)
        XCTAssertEqual(run.object["tokens"] as? [Int], try generate(["--drafter", "none"]).object["tokens"] as? [Int])
    }

    /// While another process holds the cache, a run loads it, does not wait and does not save;
    /// once it is free, the next run saves again.
    func testSecondProcessNeitherWaitsNorSaves() throws {
        let directory = try XCTUnwrap(try generate(["--drafter", "hybrid", "-t", "2"]).object["cache"] as? String)
        let matrix = directory + "/matrix-k8.bin"
        let saved = try Data(contentsOf: URL(fileURLWithPath: matrix))
        var holder: FileLock? = try FileLock(path: directory + "/.lock")
        let busy = try generate(["--drafter", "hybrid", "-t", "2"], prompt: repeating + " 6, 7,")
        XCTAssertTrue(busy.stderr.contains("is in use by another recycle process"), busy.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: matrix)), saved, "and saved nothing")
        XCTAssertNotNil(holder)
        holder = nil
        _ = try generate(["--drafter", "recycle", "-t", "2"], prompt: "Name two fruits.")
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: matrix)), saved)
    }

    /// A closed stdout is an error, after the state is saved; a chat saves when it ends.
    func testStateIsSavedWhenTheOutputFailsAndAfterAChat() throws {
        let model = try defaultModelPath()
        let closed = try shell(#""$@" >&-"#, ["generate", "-m", model, "-p", "Once upon a time", "-n", "8", "--drafter", "recycle"],
                               cacheHome: cacheHome)
        XCTAssertEqual(closed.status, 1, closed.stderr)
        let directory = try cacheFile(cacheHome + "/recycle", "")
        XCTAssertNoThrow(try MatrixFile.load(path: directory + "/matrix-k8.bin", vocabularySize: 49152, k: 8))

        let chatHome = try temporaryDirectory()
        let chat = try recycle(["chat", "-m", model, "--drafter", "hybrid", "-n", "8"], input: "Hi!\n", cacheHome: chatHome)
        XCTAssertEqual(chat.status, 0, chat.stderr)
        let chatDirectory = try cacheFile(chatHome + "/recycle", "")
        XCTAssertNoThrow(try cacheFile(chatDirectory, "matrix-k8.bin"))
        XCTAssertNoThrow(try cacheFile(chatDirectory, "costs-"))
    }

    func testWhereTheCacheLives() {
        XCTAssertEqual(StateCache.root(environment: ["XDG_CACHE_HOME": "/x", "HOME": "/h"]), "/x/recycle")
        XCTAssertEqual(StateCache.root(environment: ["XDG_CACHE_HOME": "x", "HOME": "/h"]), "/h/.cache/recycle",
                       "a relative XDG_CACHE_HOME is ignored")
        XCTAssertEqual(StateCache.root(environment: ["HOME": "/h"]), "/h/.cache/recycle")
        XCTAssertNil(StateCache.root(environment: [:]))
    }
}
