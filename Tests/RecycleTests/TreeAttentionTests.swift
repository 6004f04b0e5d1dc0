import RecycleModel
import XCTest

/// Tree attention on the real model: every node of a draft tree, verified in one pass,
/// gets bit for bit the logits that plain one-token-at-a-time decoding of its path gives;
/// committing a path leaves the cache exactly as decoding that path would.
final class TreeAttentionTests: XCTestCase {
    func testTreeNodesEqualSequentialDecodeBitwise() throws {
        let model = try defaultModel()
        let vocab = model.config.vocabSize
        let prompt = model.tokenizer.encode("The quick brown fox jumps over the lazy dog. The quick")
        let words = model.tokenizer.encode(" brown fox jumps over the lazy cat")
        // Root, then a main line and a few side branches (parents come before children).
        let tokens: [Int32] = [words[0], words[1], words[2], 13, words[3], 11, words[4], words[5], 30]
        let parents = [-1, 0, 1, 0, 2, 2, 4, 6, 3]

        for threads in [1, 2] {
            let tree = Transformer(weights: model.weights, contextLength: 64, threads: threads)
            _ = try tree.forward(prompt)
            let logits = try tree.forward(tree: tokens, parents: parents)
            XCTAssertEqual(tree.cache.count, prompt.count, "a tree pass commits nothing")

            for node in tokens.indices {
                var path: [Int] = []
                var at = node
                while at >= 0 { path.insert(at, at: 0); at = parents[at] }
                let plain = Transformer(weights: model.weights, contextLength: 64, threads: 1)
                var expected = try plain.forward(prompt)
                for p in path { expected = try plain.forward([tokens[p]]) }
                let got = logits[(node * vocab)..<((node + 1) * vocab)]
                XCTAssertTrue(zip(got, expected).allSatisfy { $0.bitPattern == $1.bitPattern },
                              "node \(node) (path \(path)), \(threads) threads: tree logits differ from sequential decode")
            }

            // Commit root -> 2 -> 4 -> 6, then decode one more token: as if decoded plainly.
            tree.commit(path: [0, 1, 2, 4, 6])
            XCTAssertEqual(tree.cache.count, prompt.count + 5)
            let next = try tree.forward([words[5]])
            let plain = Transformer(weights: model.weights, contextLength: 64, threads: 1)
            _ = try plain.forward(prompt)
            var expected: [Float] = []
            for t in [tokens[0], tokens[1], tokens[2], tokens[4], tokens[6], words[5]] { expected = try plain.forward([t]) }
            XCTAssertEqual(next.map(\.bitPattern), expected.map(\.bitPattern), "decode after commit, \(threads) threads")
        }
    }

    func testMalformedTreesAreRefused() throws {
        let model = try defaultModel()
        let t = Transformer(weights: model.weights, contextLength: 16, threads: 1)
        XCTAssertThrowsError(try t.forward(tree: [1, 2], parents: [0, 0])) { XCTAssertEqual($0 as? ForwardError, .invalidTree) }
        XCTAssertThrowsError(try t.forward(tree: [1, 2], parents: [-1, 1])) { XCTAssertEqual($0 as? ForwardError, .invalidTree) }
        XCTAssertThrowsError(try t.forward(tree: [1, 2, 3], parents: [-1, 0])) { XCTAssertEqual($0 as? ForwardError, .invalidTree) }
        XCTAssertThrowsError(try t.forward(tree: Array(repeating: 1, count: 17), parents: [-1] + Array(0..<16))) {
            XCTAssertEqual($0 as? ForwardError, .contextFull(needed: 17, capacity: 16))
        }
    }
}
