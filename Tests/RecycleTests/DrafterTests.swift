import Foundation
import RecycleDecoding
import RecycleTools
import RecycleModel
import XCTest

/// Drafters on their own: templates, breadth-first drafting from the matrix, prompt lookup,
/// and the matrix file.
final class DrafterTests: XCTestCase {
    func testBuiltInTemplateMatchesTheOfficialOne() throws {
        let official = try fixture("tree_2_2_2")["nodes"] as! [[Int]]
        let template = try TreeTemplate.named("2.2.2", k: 8)
        XCTAssertEqual(template.paths, official)
        XCTAssertEqual(template.count, 80)
        XCTAssertEqual(try TreeTemplate.named("2.2.2-l2", k: 8).count, 29)
        XCTAssertEqual(try TreeTemplate.named("2.2.2-l1", k: 8).count, 8)
        XCTAssertEqual(try TreeTemplate.named("chain16", k: 8).count, 16)
        XCTAssertEqual(try TreeTemplate.named("chain16", k: 8).paths.map(\.count).max(), 9)
    }

    /// A row of k candidates cannot be filled from fewer than k tokens: refused when the
    /// drafter is built, not a trap in the first verification (hot) or the seeding (cold).
    func testMoreCandidatesThanTokensAreRefused() throws {
        for start in ["hot", "cold"] {
            let choice = try DrafterChoice(kind: "recycle", tree: "2.2.2-l1", k: 64, start: start, defaultKind: .none)
            XCTAssertThrowsError(try choice.make(vocabularySize: 10)) { error in
                XCTAssertTrue("\(error)".contains("-k 64 is more than the model's 10 tokens"), "\(error)")
            }
            XCTAssertNoThrow(try choice.make(vocabularySize: 64))
        }
    }

    /// Ranks in a tree file are integers: 1.0 and true are refused, not read as 1. A FIFO is
    /// refused, not waited on.
    func testTreeFileRanksMustBeIntegers() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tree-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        for text in ["[[1.0]]", "[[true]]", "[[\"1\"]]", "{\"nodes\": [[0], [0, 1e0]]}"] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try TreeTemplate.named(path, k: 8), text) { error in
                XCTAssertTrue("\(error)".contains("is not an integer"), "\(text): \(error)")
            }
        }
        for text in ["[[1]]", "{\"nodes\": [[0], [0, 1]]}"] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            XCTAssertNoThrow(try TreeTemplate.named(path, k: 8), text)
        }
        try FileManager.default.removeItem(atPath: path)
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        XCTAssertThrowsError(try TreeTemplate.named(path, k: 8)) { XCTAssertTrue("\($0)".contains("not a regular file"), "\($0)") }
    }

    func testInvalidTemplatesAreRefused() {
        XCTAssertThrowsError(try TreeTemplate(name: "t", paths: [[0, 0]], k: 8)) { XCTAssertTrue("\($0)".contains("before its parent")) }
        XCTAssertThrowsError(try TreeTemplate(name: "t", paths: [[0], [8]], k: 8)) { XCTAssertTrue("\($0)".contains("0..<8")) }
        XCTAssertThrowsError(try TreeTemplate(name: "t", paths: [[0], [0]], k: 8)) { XCTAssertTrue("\($0)".contains("twice")) }
        XCTAssertThrowsError(try TreeTemplate.named("no-such-tree", k: 8)) { XCTAssertTrue("\($0)".contains("unknown tree")) }
    }

    /// The tree is filled level by level: a node's token is its parent token's row, at the
    /// node's last rank; the matrix learns each node's candidates. Parents are tree nodes,
    /// the root being node 0, in templates as in trees.
    func testRecyclerDraftsBreadthFirstFromTheMatrix() throws {
        let template = try TreeTemplate(name: "t", paths: [[0], [1], [0, 0], [0, 1], [1, 0], [0, 0, 1]], k: 2)
        XCTAssertEqual(template.parents, [0, 0, 1, 1, 2, 3])
        let recycler = TokenRecycler(vocabularySize: 10, k: 2, shape: .fixed(template))
        recycler.matrix.load([0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // rows 0-4
                              6, 7, 8, 9, 1, 2, 3, 4, 0, 0])  // row 5: 6 7, row 6: 8 9, row 7: 1 2, row 8: 3 4, row 9: 0 0
        let tree = recycler.draft(root: 5, context: [5])
        XCTAssertEqual(tree.tokens, [5, 6, 7, 8, 9, 1, 4])
        XCTAssertEqual(tree.parents, [-1, 0, 0, 1, 1, 2, 3])
        // Each node says which row and rank it came from (for traces).
        XCTAssertEqual(tree.sources.map(\.rowOf), [nil, 5, 5, 6, 6, 7, 8])
        XCTAssertEqual(tree.sources.map(\.rank), [nil, 0, 1, 0, 1, 0, 1])
        let v = Verification(tree: tree, acceptedPath: [0, 1], produced: [6, 3],
                             candidates: [1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5], candidatesPerNode: 2)
        recycler.observe(v)
        let rows = recycler.matrix.values
        XCTAssertEqual(Array(rows[10..<12]), [1, 2])  // row 5, from node 0
        XCTAssertEqual(Array(rows[12..<14]), [3, 4])  // row 6, from node 1
        XCTAssertEqual(Array(rows[2..<4]), [2, 3])  // row 1, from node 5
        XCTAssertEqual(Array(rows[8..<10]), [4, 5])  // row 4, from node 6
        XCTAssertEqual(recycler.lastRewrites.map(\.token), [5, 6, 7, 8, 9, 1, 4])
        XCTAssertEqual(recycler.lastRewrites[0], RowRewrite(token: 5, before: [6, 7], after: [1, 2], writes: 1))
        // A token twice in one tree: the later node's candidates win, as in the official code;
        // a trace lists the row once, as it was before the pass and as the last write left it.
        var twice = DraftTree(root: 3)
        twice.add(3, parent: 0)
        recycler.observe(Verification(tree: twice, acceptedPath: [0], produced: [1], candidates: [1, 1, 2, 2], candidatesPerNode: 2))
        XCTAssertEqual(Array(recycler.matrix.values[6..<8]), [2, 2])
        XCTAssertEqual(recycler.lastRewrites, [RowRewrite(token: 3, before: [0, 0], after: [2, 2], writes: 2)])
    }

    /// A matrix whose rows hold distinct tokens, so that no two drafted nodes merge.
    func distinctMatrix() -> AdjacencyMatrix {
        let matrix = AdjacencyMatrix(vocabularySize: 1000, k: 8)
        // Row t holds 8t+1 ... 8t+8 (mod 1000).
        matrix.load((0..<8000).map { (i: Int) -> Int32 in Int32((i + 1) % 1000) })
        return matrix
    }

    /// A cost curve that has seen real passes of 1, 2, 4, ..., 128 nodes cost `cost(n)`.
    func measured(context: Int = 100, _ cost: (Int) -> Double) -> CostCurve {
        let costs = CostCurve()
        for n in [1, 2, 4, 8, 16, 32, 64, 128] { costs.record(nodes: n, seconds: cost(n), context: context) }
        return costs
    }

    /// `--tree auto` weighs expected accepted tokens against the measured cost of a pass.
    func testAutoTreeFollowsCostAndAcceptance() {
        let matrix = distinctMatrix()
        func draft(_ auto: AutoTree, _ cost: (Int) -> Double) -> DraftTree {
            let costs = measured(cost)
            return auto.draft(root: 1, matrix: matrix, costs: costs, context: 100).tree
        }
        var auto = AutoTree(k: 8)
        XCTAssertEqual(auto.draft(root: 1, matrix: matrix, costs: CostCurve(), context: 100).tree.count, 1, "no measurements: plain decoding")
        // Rank 0 right half the time, rank 1 a fifth of the time.
        for i in 0..<100 { auto.record(rank: i % 10 < 5 ? 0 : i % 10 < 7 ? 1 : nil) }
        // Verification nearly free (memory-bound machine): a big tree pays.
        let wide = draft(auto) { n in 1 + 0.001 * Double(n) }
        XCTAssertGreaterThan(wide.count, 20)
        XCTAssertEqual(wide.tokens[1], matrix.candidate(after: 1, rank: 0))
        // Each extra node costs 60% of a pass (compute-bound): only the root.
        var steep = AutoTree(k: 8)
        for i in 0..<100 { steep.record(rank: i % 10 < 5 ? 0 : nil) }
        XCTAssertEqual(draft(steep) { n in Double(n) * 0.6 + 0.4 }.count, 1)
        // In between: the rank-0 spine, no side branches (p = 0.5^d against 10% per node).
        var middle = AutoTree(k: 8)
        for i in 0..<100 { middle.record(rank: i % 10 < 5 ? 0 : nil) }
        let spine = draft(middle) { n in 1 + 0.1 * Double(n - 1) }
        XCTAssertGreaterThan(spine.count, 1)
        XCTAssertEqual(spine.parents, Array(-1..<(spine.count - 1)), "a chain")
        // Statistics follow the recent past: after a long run of misses, no tree.
        for _ in 0..<1000 { middle.record(rank: nil) }
        XCTAssertEqual(draft(middle) { n in 1 + 0.1 * Double(n - 1) }.count, 1)
    }

    /// Costs are learned per context size class from real passes: a moving average at a
    /// size seen before, a new point otherwise, an optimistic guess beyond the largest; a
    /// long run of plain passes forgets the larger sizes. The curve is kept in a state that
    /// can be saved and restored; bad bytes are refused and change nothing.
    func testCostCurveLearnsFromPasses() throws {
        let costs = CostCurve()
        XCTAssertEqual(costs.cost(1, context: 100), .infinity, "nothing measured: no tree")
        XCTAssertEqual(costs.bestSize([0.9, 0.9], context: 100, margin: 1.1), 0)
        costs.record(nodes: 1, seconds: 1, context: 100)
        XCTAssertEqual(costs.cost(2, context: 100), 1.1, accuracy: 1e-12, "the optimistic prior, 0.1 per node")
        XCTAssertEqual(costs.cost(3, context: 100), .infinity, "no more than twice the largest size measured")
        XCTAssertEqual(costs.bestSize([0.5, 0.5, 0.01], context: 100, margin: 1.1), 1)
        costs.record(nodes: 2, seconds: 1.2, context: 100)
        XCTAssertEqual(costs.cost(4, context: 100), 1.6, accuracy: 1e-12, "the measured slope, above the prior")
        XCTAssertEqual(costs.bestSize([0.5, 0.5, 0.01], context: 100, margin: 1.1), 2)
        costs.record(nodes: 4, seconds: 2.5, context: 100)
        XCTAssertEqual(costs.cost(3, context: 100), 1.85, accuracy: 1e-12, "interpolated")
        XCTAssertEqual(costs.cost(8, context: 100), 5.1, accuracy: 1e-12, "extrapolated along the measured slope")
        costs.record(nodes: 4, seconds: 3.5, context: 100)
        XCTAssertEqual(costs.cost(4, context: 100), 2.6, accuracy: 1e-12, "a moving average")
        XCTAssertEqual(costs.points[0]!.map(\.nodes), [1, 2, 4])
        XCTAssertEqual(costs.cost(4, context: 5000), 2.6, accuracy: 1e-12, "the nearest measured class")

        let copy = CostCurve()
        try copy.restore(from: costs.encoded(), source: "test")
        XCTAssertEqual(copy.cost(4, context: 100), 2.6, accuracy: 1e-12)
        for bad in ["", "{}", "{\"version\": 1, \"classes\": {\"0\": [[2, 1], [1, 2]]}}", "{\"version\": 1, \"classes\": {\"0\": [[1, -1]]}}"] {
            XCTAssertThrowsError(try copy.restore(from: Array(bad.utf8), source: "bad"), bad)
        }
        XCTAssertEqual(copy.cost(4, context: 100), 2.6, accuracy: 1e-12)

        // 256 plain passes in a row: the sizes above one are forgotten (a busy moment must
        // not forbid trees for good); a drafted pass restarts the count.
        for _ in 0..<255 { costs.record(nodes: 1, seconds: 1, context: 100) }
        costs.record(nodes: 4, seconds: 2.6, context: 100)
        for _ in 0..<255 { costs.record(nodes: 1, seconds: 1, context: 100) }
        XCTAssertEqual(costs.points[0]!.map(\.nodes), [1, 2, 4])
        costs.record(nodes: 1, seconds: 1, context: 100)
        XCTAssertEqual(costs.points[0]!.map(\.nodes), [1])
    }

    /// Candidates from several sources share one tree: the same token under the same parent
    /// is one node with the larger estimate.
    func testRecycledNodesMergeByTokenPath() {
        // A cold matrix: every row is zeros, so all eight rank-r children of a node are token 0.
        let matrix = AdjacencyMatrix(vocabularySize: 10, k: 8)
        var auto = AutoTree(k: 8)
        for i in 0..<40 { auto.record(rank: i % 8) }
        let costs = measured(context: 10) { n in 1 + 0.0001 * Double(n) }
        let tree = auto.draft(root: 3, matrix: matrix, costs: costs, context: 10).tree
        XCTAssertEqual(tree.tokens, [3] + [Int32](repeating: 0, count: tree.count - 1))
        XCTAssertEqual(tree.parents, Array(-1..<(tree.count - 1)), "one chain of zeros, not eight copies per level")
        XCTAssertEqual(tree.sources[1], .recycled(rowOf: 3, rank: 0), "a merged node keeps its first source")
    }

    func testPromptLookupCopiesTheLatestMatch() {
        let pld = PromptLookup(maxNgram: 3, draftLength: 4)
        // ... 7 8 9 | 1 2 3 ... 7 8 9: the latest "7 8 9" before the end is followed by 1 2 3 7.
        let tree = pld.draft(root: 9, context: [4, 7, 8, 9, 1, 2, 3, 7, 8, 9])
        XCTAssertEqual(tree.tokens, [9, 1, 2, 3, 7])
        XCTAssertEqual(tree.parents, [-1, 0, 1, 2, 3])
        XCTAssertEqual(tree.sources.map(\.copiedFrom), [nil, 4, 5, 6, 7], "positions in the context")
        XCTAssertEqual(tree.sources.map(\.matchLength), [nil, 3, 3, 3, 3])
        XCTAssertEqual(pld.draft(root: 5, context: [1, 2, 5]).count, 1, "no match: the root alone")
    }

    func testMatrixFileRoundTripAndErrors() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("matrix-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("m.bin").path
        let matrix: [Int32] = (0..<40).map { Int32($0 % 10) }
        try MatrixFile.save(matrix, k: 4, vocabularySize: 10, path: path)
        XCTAssertEqual(try MatrixFile.load(path: path, vocabularySize: 10, k: 4), matrix)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["m.bin"], "no temporary file left")

        func error(_ bytes: [UInt8], vocabulary: Int = 10, k: Int = 4) -> MatrixFile.Error? {
            let bad = directory.appendingPathComponent("bad.bin").path
            try? Data(bytes).write(to: URL(fileURLWithPath: bad))
            do { _ = try MatrixFile.load(path: bad, vocabularySize: vocabulary, k: k); return nil } catch { return error }
        }
        let good = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(error(good), nil)
        if case .notAMatrixFile = error([UInt8](repeating: 7, count: 200)) {} else { XCTFail("bad magic") }
        if case .mismatch = error(good, k: 8) {} else { XCTFail("wrong k") }
        if case .mismatch = error(good, vocabulary: 11) {} else { XCTFail("wrong vocabulary") }
        if case .corrupt = error(Array(good.dropLast(4))) {} else { XCTFail("truncated") }
        var flipped = good; flipped[30] ^= 1
        if case .corrupt = error(flipped) {} else { XCTFail("checksum") }
        var outOfRange = matrix; outOfRange[3] = 10
        try MatrixFile.save(outOfRange, k: 4, vocabularySize: 10, path: path)
        if case .corrupt = error([UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))) {} else { XCTFail("id out of range") }
        XCTAssertThrowsError(try MatrixFile.load(path: directory.appendingPathComponent("missing").path, vocabularySize: 10, k: 4))
    }
}
