import Foundation
import RecycleDecoding
import RecycleTools
import XCTest

/// `--trace` and `--show-steps` on the real model: the trace is a faithful record of every
/// pass, and watching changes nothing that is generated.
final class TraceTests: XCTestCase {
    /// A prompt whose answer repeats itself, so that every drafter (a fixed tree from an
    /// empty matrix included) gets drafts accepted, and the checks below see real accepted
    /// paths, not only lone roots.
    static let prompt = "Count from 1 to 40, separated by commas."

    func generate(_ extra: [String], tokens: Int = 64) throws -> (tokens: [Int], stderr: String) {
        let run = try recycle(["generate", "-m", try defaultModelPath(), "--chat", "-p", Self.prompt, "-n", "\(tokens)",
                               "-t", "2", "--json", "--no-cache"] + extra)
        XCTAssertEqual(run.status, 0, run.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        return (object["tokens"] as! [Int], run.stderr)
    }

    func readTrace(_ path: String) throws -> Trace {
        try Trace(jsonLines: [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), source: path)
    }

    /// For every drafter: the same tokens with and without a trace; the steps' produced tokens
    /// are the generated tokens; every accepted path is a root-first path of its tree, each
    /// accepted node being the model's own choice at its parent, and the walk stops where no
    /// child is that choice; every drafted node says where it came from.
    ///
    /// Sampling at temperature 0.5: the answer still counts (at 0.8 the sample was a
    /// different ramble for each small change of the arithmetic, and with seed 7 it came to
    /// accept no draft after Part 10's kernels), so drafts are accepted (seeds 1, 2 and 7 tried).
    func testTraceIsAFaithfulRecordOfEveryPass() throws {
        let directory = try temporaryDirectory()
        for drafter in [["--drafter", "recycle", "--tree", "2.2.2-l2"], ["--drafter", "hybrid"], ["--drafter", "suffix"],
                        ["--drafter", "pld"], ["--drafter", "none"], ["--drafter", "hybrid", "--temp", "0.5", "--seed", "7"]] {
            let path = directory + "/\(drafter[1]).jsonl"
            let plain = try generate(drafter)
            let traced = try generate(drafter + ["--trace", path])
            XCTAssertEqual(traced.tokens, plain.tokens, "\(drafter): tracing changed the output")
            let trace = try readTrace(path)
            XCTAssertEqual(trace.generations.count, 1)
            let generation = trace.generations[0]
            XCTAssertEqual(generation.header.drafter, drafter[1])
            XCTAssertEqual(generation.summary?.tokens, plain.tokens.count)
            XCTAssertEqual(generation.steps.flatMap { $0.produced.map { Int($0.id) } }, plain.tokens, "\(drafter)")
            XCTAssertEqual(generation.steps.map(\.step), Array(0..<generation.steps.count))
            var acceptedDrafts = 0
            for step in generation.steps {
                let nodes = step.nodes, path = step.accepted
                XCTAssertEqual(nodes.map(\.id), Array(0..<nodes.count))
                XCTAssertEqual(nodes[0].parent, -1)
                XCTAssertEqual(path.first, 0, "the path starts at the root")
                XCTAssertEqual(step.choices.map(\.node), path)
                for (j, node) in path.dropFirst().enumerated() {
                    XCTAssertEqual(nodes[node].parent, path[j], "step \(step.step): not a path")
                    XCTAssertEqual(nodes[node].token, step.choices[j].token, "step \(step.step): accepted node is not the model's choice")
                    XCTAssertEqual(nodes[node].depth, j + 1)
                }
                let last = step.choices[step.choices.count - 1]
                XCTAssertFalse(nodes.contains { $0.parent == path[path.count - 1] && $0.token == last.token },
                               "step \(step.step): the walk stopped beside a matching child")
                XCTAssertEqual(step.produced.map(\.id), Array(step.choices.map(\.token).prefix(step.produced.count)))
                acceptedDrafts += path.count - 1
                if drafter[1] != "none" {
                    for node in nodes.dropFirst() {
                        XCTAssertNotNil(node.source?.rowOf ?? node.source?.copiedFrom.map(Int32.init), "step \(step.step): no source")
                    }
                }
            }
            if drafter[1] == "none" {
                XCTAssertEqual(acceptedDrafts, 0)
                XCTAssertTrue(generation.steps.allSatisfy { $0.nodes.count == 1 && $0.rows == nil && $0.sizing == nil })
            } else {
                XCTAssertGreaterThan(acceptedDrafts, 0, "\(drafter): no draft accepted, so the checks above proved little")
            }
        }
    }

    /// With a fixed template, replaying the trace's rewritten rows from an empty matrix gives
    /// the matrix each tree was drafted from: every node is its parent's row at the node's
    /// rank, and its rank path is its parent's plus that rank.
    func testRecycledNodesComeFromTheRowsTheTraceShows() throws {
        let path = try temporaryDirectory() + "/t.jsonl"
        _ = try generate(["--drafter", "recycle", "--tree", "2.2.2", "--trace", path])
        let trace = try readTrace(path)
        XCTAssertEqual(trace.generations[0].header.settings.first { $0.name == "tree" }?.value, "2.2.2")
        var matrix: [Int32: [Int32]] = [:]
        var checked = 0
        for step in trace.steps {
            for node in step.nodes.dropFirst() {
                let parent = step.nodes[node.parent]
                let source = try XCTUnwrap(node.source)
                XCTAssertEqual(source.rowOf, parent.token)
                let rank = try XCTUnwrap(source.rank)
                XCTAssertEqual(node.token, matrix[parent.token]?[rank] ?? 0, "step \(step.step), node \(node.id)")
                XCTAssertEqual(node.rankPath, (parent.rankPath ?? []) + [rank])
                checked += 1
            }
            let rows = try XCTUnwrap(step.rows)
            XCTAssertEqual(Set(rows.map(\.token.id)), Set(step.nodes.map(\.token)), "every node's row is rewritten")
            for row in rows {
                XCTAssertEqual(row.before.map(\.id), matrix[row.token.id] ?? [Int32](repeating: 0, count: 8))
                matrix[row.token.id] = row.after.map(\.id)
            }
        }
        XCTAssertGreaterThan(checked, 500)

        // Drawn: the SVG of a real step is well-formed XML that names its tokens.
        let step = trace.firstInterestingStep!
        let svg = try recycle(["trace", path, "--step", "\(step.step)", "--format", "svg"])
        XCTAssertEqual(svg.status, 0, svg.stderr)
        let texts = try parsedTexts(svg.stdout)
        for node in step.nodes.prefix(10) where displayWidth(quotedToken(node.text)) < 20 {
            XCTAssertTrue(texts.contains { $0.contains(quotedToken(node.text)) }, node.text)
        }
    }

    /// `--show-steps` writes one line per pass; a trace that cannot be written is an error
    /// after the text, which it does not cost; a trace path that cannot be opened is refused
    /// before anything runs.
    func testShowStepsAndTraceErrors() throws {
        let model = try defaultModelPath()
        let shown = try recycle(["generate", "-m", model, "--chat", "-p", Self.prompt, "-n", "24", "-t", "2", "--show-steps",
                                 "--drafter", "suffix", "--no-cache"])
        XCTAssertEqual(shown.status, 0, shown.stderr)
        let lines = shown.stderr.split(separator: "\n").filter { $0.hasPrefix("pass ") }
        XCTAssertTrue(lines.first?.hasPrefix("pass 0: 1 node, accepted 0 + \"") ?? false, shown.stderr)
        let passes = Int(shown.stderr.components(separatedBy: "drafter suffix: ")[1].split(separator: " ")[0])
        XCTAssertEqual(lines.count, passes)

        let full = try recycle(["generate", "-m", model, "-p", "Hello", "-n", "8", "--trace", "/dev/full", "--no-cache"])
        XCTAssertEqual(full.status, 1)
        XCTAssertFalse(full.stdout.isEmpty, "the text comes out all the same")
        XCTAssertTrue(full.stderr.contains("cannot write the trace /dev/full"), full.stderr)

        let missing = try recycle(["generate", "-m", model, "-p", "Hello", "-n", "8", "--trace", "/no/such/dir/t.jsonl"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("cannot write the trace /no/such/dir/t.jsonl: No such file"), missing.stderr)
        XCTAssertTrue(missing.stdout.isEmpty)
    }
}
