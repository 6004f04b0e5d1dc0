import RecycleDecoding
import RecycleKernels
import XCTest

/// `SuffixIndex` against a brute-force search after every append, on a word-level paragraph,
/// and on its edge cases.
final class SuffixIndexTests: XCTestCase {
    /// The longest suffix of `text` that also ends at an earlier position without containing a
    /// separator, and every earlier position where it ends. (0, []) when the text is empty,
    /// ends with a separator, or its last token is new.
    func bruteForce(_ text: [Int32]) -> (length: Int, ends: [Int]) {
        let n = text.count
        guard n > 0, text[n - 1] >= 0 else { return (0, []) }
        var best = 0, ends: [Int] = []
        for j in 0..<(n - 1) {
            var l = 0
            while l <= j, text[j - l] >= 0, text[j - l] == text[n - 1 - l] { l += 1 }
            if l > best { (best, ends) = (l, []) }
            if l == best && l > 0 { ends.append(j) }
        }
        return (best, ends)
    }

    /// Checks `index.match` against `bruteForce`: the same length at a true earlier occurrence
    /// followed by a token, or nil only when there is none or the occurrence the index keeps
    /// ends a document. Returns whether the match was found.
    @discardableResult
    func check(_ index: SuffixIndex, _ message: @autoclosure () -> String = "") -> Bool {
        let text = index.tokens
        let expected = bruteForce(text)
        guard let m = index.match else {
            XCTAssertTrue(expected.length == 0 || expected.ends.contains { text[$0 + 1] < 0 },
                          "no match but the last \(expected.length) tokens occurred at \(expected.ends) \(message())")
            return false
        }
        XCTAssertEqual(m.length, expected.length, message())
        XCTAssertTrue(expected.ends.contains(m.end), "end \(m.end) is not one of \(expected.ends) \(message())")
        XCTAssertLessThan(m.end, text.count - 1, message())
        XCTAssertEqual(text[(m.end - m.length + 1)...m.end], text[(text.count - m.length)...], message())
        XCTAssertFalse(index.continuation(after: m.end, maxCount: 4).isEmpty, message())
        return true
    }

    func testMatchesBruteForceOnRandomText() {
        var rng = SplitMix64(seed: 7)
        var found = 0, missed = 0
        for alphabet in [2, 3, 5, 50] {
            for trial in 0..<3 {
                let length = 200 + Int(rng.next() % 1801)
                // One trial without separators, two with about one in 30 or one in 200 tokens.
                let separatorEvery: UInt64 = [0, 30, 200][trial]
                var index = SuffixIndex()
                for i in 0..<length {
                    if separatorEvery > 0 && rng.next() % separatorEvery == 0 {
                        index.startDocument()
                        XCTAssertNil(index.match)
                    }
                    index.append(Int32(rng.next() % UInt64(alphabet)))
                    if check(index, "alphabet \(alphabet), trial \(trial), token \(i)") { found += 1 } else { missed += 1 }
                }
            }
        }
        // The nil-at-a-document-end case must stay rare, or the exact checks above prove little.
        XCTAssertGreaterThan(found, 20 * missed)
    }

    /// Words of a paragraph as token ids: once the second copy has begun, the index finds the
    /// first copy and proposes exactly what comes next, also across a document boundary.
    func testRepeatedParagraphContinuesWithTheRepeatedPart() {
        let paragraph = """
            The committee met on Tuesday to review the budget for the coming year. After a long \
            discussion of the costs of the new library, the members agreed to delay the vote \
            until the engineers had finished their report on the roof and the heating system.
            """
        var ids: [Substring: Int32] = [:]
        let words = paragraph.split(separator: " ").map { word in
            if let id = ids[word] { return id }
            ids[word] = Int32(ids.count)
            return Int32(ids.count - 1)
        }
        for separate in [false, true] {
            var index = SuffixIndex()
            index.append(contentsOf: words)
            if separate { index.startDocument() }
            for k in 1..<words.count {
                index.append(words[k - 1])
                check(index, "k \(k), separate \(separate)")
                // The paragraph's first word occurs only at its start, so the match is exactly
                // the k words of the second copy, at their one earlier occurrence.
                let m = index.match!
                XCTAssertEqual(m.length, k)
                XCTAssertEqual(m.end, k - 1)
                // Without a separator the first copy's end runs on into the second copy.
                let next = separate ? words[k..<min(k + 8, words.count)] : index.tokens[k..<min(k + 8, index.count)]
                XCTAssertEqual(Array(index.continuation(after: m.end, maxCount: 8)), Array(next))
            }
        }
    }

    func testEmptyAndSingleToken() {
        var index = SuffixIndex()
        XCTAssertEqual(index.count, 0)
        XCTAssertNil(index.match)
        XCTAssertTrue(index.continuation(after: -1, maxCount: 4).isEmpty)
        index.startDocument()
        XCTAssertEqual(index.count, 0, "a document cannot start before any text")
        index.append(42)
        XCTAssertEqual(index.tokens, [42])
        XCTAssertNil(index.match)
        XCTAssertEqual(Array(index.continuation(after: -1, maxCount: 4)), [42])
    }

    /// In a run of one token every suffix but the whole text occurred one position earlier.
    func testAllEqualTokens() {
        var index = SuffixIndex()
        index.append(5)
        for n in 2...300 {
            index.append(5)
            XCTAssertEqual(index.match?.length, n - 1)
            XCTAssertEqual(index.match?.end, n - 2)
            XCTAssertEqual(Array(index.continuation(after: n - 2, maxCount: 16)), [5])
        }
    }

    func testDocumentsAreSeparated() {
        var index = SuffixIndex()
        index.append(contentsOf: [1, 2, 3])
        index.startDocument()
        index.startDocument()
        XCTAssertEqual(index.tokens, [1, 2, 3, -1], "a second start in a row adds nothing")
        XCTAssertNil(index.match)
        index.append(contentsOf: [3, 1])
        // "3 1" crosses the boundary in "1 2 3 | 3 1": only "1" occurred before.
        XCTAssertEqual(index.match?.length, 1)
        XCTAssertEqual(index.match?.end, 0)
        XCTAssertEqual(Array(index.continuation(after: 0, maxCount: 8)), [2, 3], "stops before the separator")
        index.startDocument()
        XCTAssertEqual(index.tokens.last, -2, "every separator is new")
        // "1 2 3" ends a document, so its only earlier occurrence has nothing to propose.
        index.append(contentsOf: [1, 2, 3])
        XCTAssertNil(index.match)
        index.append(4)
        XCTAssertNil(index.match)
        index.append(contentsOf: [1, 2, 3])
        XCTAssertEqual(index.match?.length, 3)
        XCTAssertEqual(index.match?.end, 9, "the most recent occurrence, which a 4 followed")
        XCTAssertEqual(Array(index.continuation(after: 9, maxCount: 8)), [4, 1, 2, 3])
    }

    func testRemoveAllThenReuse() {
        var rng = SplitMix64(seed: 3)
        let text = (0..<500).map { _ in Int32(rng.next() % 4) }
        var index = SuffixIndex()
        index.append(contentsOf: [9, 9, 9])
        index.startDocument()
        index.removeAll()
        XCTAssertEqual(index.count, 0)
        XCTAssertNil(index.match)
        var fresh = SuffixIndex()
        for (i, t) in text.enumerated() {
            index.append(t)
            fresh.append(t)
            XCTAssertEqual(index.match?.length, fresh.match?.length)
            XCTAssertEqual(index.match?.end, fresh.match?.end)
            if i == 250 { index.startDocument(); fresh.startDocument() }
        }
        XCTAssertEqual(index.tokens, fresh.tokens)
        XCTAssertEqual(index.tokens.filter { $0 < 0 }, [-1], "separators are numbered afresh")
        check(index)
    }
}
