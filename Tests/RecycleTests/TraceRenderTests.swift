import Foundation
#if canImport(FoundationXML)
import FoundationXML  // XMLParser, which Linux keeps apart
#endif
import RecycleTools
import XCTest

/// The trace renderers (`recycle trace`): every format escapes hostile token texts, the SVG
/// is well-formed XML, the page is self-contained, and a malformed tree is an error.
final class TraceRenderTests: XCTestCase {
    /// A two-step trace whose tokens are everything markup and terminals trip on. Step 7's
    /// tree: "<" → "&" → "</script>" accepted (the model then chose "\n\t<end>"); `"` and a
    /// copied `'` rejected; "\n", "<0xE2>" and "\u{1}" below them, never reached.
    func hostileTrace() throws -> Trace {
        func node(_ id: Int, _ parent: Int, _ text: String, _ source: TraceSource?) -> TraceNode {
            TraceNode(id: id, parent: parent, token: Int32(100 + id), text: text, depth: 0, source: source, rankPath: nil)
        }
        let nodes = [
            node(0, -1, "<", nil),
            node(1, 0, "&", TraceSource(rowOf: 100, rank: 0)),
            node(2, 0, "\"", TraceSource(rowOf: 100, rank: 1)),
            node(3, 1, "</script>", TraceSource(rowOf: 101, rank: 0)),
            node(4, 1, "'", TraceSource(copiedFrom: 12, matchLength: 3)),
            node(5, 2, "\n", TraceSource(rowOf: 102, rank: 0)),
            node(6, 3, "<0xE2>", TraceSource(rowOf: 999, rank: 0, copiedFrom: 40, matchLength: 5)),
            node(7, 0, "🐱", TraceSource(rowOf: 100, rank: 2)),
            node(8, 7, "\u{1}", TraceSource(rank: 4)),
        ]
        let end = TraceToken(id: 200, text: "\n\t<end>")
        let interesting = TraceStep(
            step: 7, context: 12, nodes: nodes,
            choices: [TraceChoice(node: 0, token: 101, text: "&"), TraceChoice(node: 1, token: 103, text: "</script>"),
                      TraceChoice(node: 3, token: 200, text: end.text)],
            accepted: [0, 1, 3],
            produced: [TraceToken(id: 101, text: "&"), TraceToken(id: 103, text: "</script>"), end],
            rows: [TraceRow(token: TraceToken(id: 100, text: "<"), before: [TraceToken(id: 101, text: "&"), TraceToken(id: 106, text: "<0xE2>")],
                            after: [TraceToken(id: 103, text: "</script>"), TraceToken(id: 101, text: "&")], writes: 2)],
            sizing: TraceSizing(hitRates: [0.5, 0.25], probabilities: [0.6, 0.3, 0.1], costMs: [14, 14.5, 15.2, 16],
                                chosen: 2, expectedTokens: 1.9, expectedSpeedup: 1.8),
            draftMs: 0.02, passMs: 14.1)
        let plain = TraceStep(step: 6, context: 11, nodes: [node(0, -1, "'", nil)], choices: [TraceChoice(node: 0, token: 100, text: "<")],
                              accepted: [0], produced: [TraceToken(id: 100, text: "<")], rows: nil, sizing: nil, draftMs: 0, passMs: 13)
        let header = TraceHeader(model: "m<&>.rcyl", drafter: "recycle", settings: [TraceSetting(name: "tree", value: "auto")],
                                 sampling: "greedy", turn: 0, firstStep: 6,
                                 prompt: [TraceToken(id: 1, text: "</script><script>alert(1)</script>"), TraceToken(id: 2, text: "\u{2028}")])
        let summary = TraceSummary(steps: 2, tokens: 4, text: "<&", stopReason: "length", meanAccepted: 2, reusedTokens: 0, prefillMs: 1,
                                   decodeMs: 2, tokensPerSecond: 3)
        let encoder = JSONEncoder()
        var lines = Data()
        for record in [try encoder.encode(header), try encoder.encode(plain), try encoder.encode(interesting), try encoder.encode(summary)] {
            lines += record + Data("\n".utf8)
        }
        return try Trace(jsonLines: [UInt8](lines), source: "hostile.jsonl")
    }

    func tree() throws -> StepTree {
        let trace = try hostileTrace()
        return try StepTree(trace.firstInterestingStep!, names: trace.tokenTexts)
    }

    func testTheDefaultStepIsTheFirstThatAcceptedADraft() throws {
        XCTAssertEqual(try hostileTrace().firstInterestingStep?.step, 7)
    }

    func testTokensAreQuotedWithInvisiblesShown() {
        XCTAssertEqual(quotedToken("a\"b\\c\n\t\u{1}\u{a0}\u{200b}"), #""a\"b\\c\n\t\u{1}\u{a0}\u{200b}""#)
        XCTAssertEqual(quotedToken("👩‍👩‍👧 <0xE2>"), "\"👩‍👩‍👧 <0xE2>\"")  // the joiners stay in the emoji
        XCTAssertEqual(visibleText("a\n\"b\"\t\u{1}", keepingLayout: true), "a\n\"b\"\t\\u{1}")
        XCTAssertEqual(displayWidth("ab🐱猫"), 6)
    }

    func testTextMarksTheWalkAndTheModelsChoice() throws {
        let text = TreeText.render(try tree())
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "step 7 · context 12 · 8 drafted, 2 accepted · pass 14.10 ms (draft 0.02 ms)")
        XCTAssertTrue(lines[1].hasPrefix("✓ \"<\""), lines[1])
        XCTAssertTrue(lines.contains { $0.hasPrefix("├─ ✓ \"&\"") && $0.hasSuffix("r0 of \"<\"") }, text)
        XCTAssertTrue(lines.contains { $0.contains("✓ \"</script>\"") && $0.hasSuffix("→ model chose \"\\n\\t<end>\"") }, text)
        XCTAssertTrue(lines.contains { $0.contains("✗ \"'\"") && $0.hasSuffix("copy@12 (match 3)") }, text)
        XCTAssertTrue(lines.contains { $0.contains("· \"\\n\"") }, text)
        XCTAssertTrue(lines.contains { $0.contains("· \"\\u{1}\"") && $0.hasSuffix("rank 4") }, text)
        // A row the trace names no text for is named by its id.
        XCTAssertTrue(lines.contains { $0.hasSuffix("r0 of #999 + copy@40 (match 5)") }, text)
        XCTAssertTrue(text.contains("produced 3: \"&\" \"</script>\" \"\\n\\t<end>\""), text)
        XCTAssertFalse(text.contains("\u{1}"))
    }

    func testDotEscapesQuotesBackslashesAndNewlines() throws {
        XCTAssertEqual(TreeDot.quoted("a\"b\\c\nd"), #""a\"b\\c\nd""#)
        let dot = TreeDot.render(try tree())
        // Node 2 is the token `"`: shown as "\"" with its source below.
        XCTAssertTrue(dot.contains(#"n2 [label="\"\\\"\"\nr1""#), dot)
        XCTAssertTrue(dot.contains(#"n0 -> n1 [color="\#(TreePalette.accepted.stroke)", penwidth=2]"#), dot)
        XCTAssertTrue(dot.contains("n3 -> choice [style=dashed"), dot)
        for line in dot.split(separator: "\n") {
            XCTAssertTrue(line.hasSuffix(";") || line.hasSuffix("{") || line == "}", "a statement broken over lines: \(line)")
        }
    }

    func testSVGIsWellFormedXMLWithTheLabelsEscaped() throws {
        let svg = TreeSVG.document(try tree())
        let texts = try parsedTexts(svg)
        XCTAssertTrue(svg.contains("xmlns=\"http://www.w3.org/2000/svg\""))
        XCTAssertTrue(svg.contains("&quot;&lt;/script&gt;&quot;"), svg)
        XCTAssertTrue(svg.contains("&quot;&amp;&quot;"), svg)
        XCTAssertFalse(svg.contains("\u{1}"))
        for label in ["\"<\"", "\"&\"", "\"\\\"\"", "\"'\"", "\"\\n\"", "\"</script>\"", "\"<0xE2>\"", "\"🐱\"", "\"\\u{1}\"", "\"\\n\\t<end>\""] {
            XCTAssertTrue(texts.contains(label), "no label \(label) in \(texts)")
        }
        XCTAssertEqual(try parsedTexts(TreeSVG.inline(try tree()).markup).filter { $0.hasPrefix("\"") }.count, 10)
    }

    func testMarkupEscapingDropsWhatXMLForbids() throws {
        XCTAssertEqual(markupEscaped("<a href='x'>&\"\u{1}\u{FFFF}</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;\u{FFFD}\u{FFFD}&lt;/a&gt;")
        XCTAssertEqual(markupEscaped("a\tb\nc", attribute: true), "a&#9;b&#10;c")
        let element = SVGElement.svg(width: 10, height: 10, children: [SVGElement("text", [("data-x", "\u{0}\"\n")], text: "\u{7}<")])
        XCTAssertEqual(try parsedTexts(element.document), ["\u{FFFD}<"])
        XCTAssertThrowsError(try parsedTexts("<svg>\u{1}</svg>"), "the check itself catches what XML forbids")
    }

    func testLineChartIsWellFormedAndSkipsNonFinitePoints() throws {
        let chart = LineChart(title: "ms per pass <vs> nodes", xLabel: "nodes", yLabel: "ms & more", series: [
            .init(name: "4 threads", points: [(1, 14), (2, 14.5), (3, .nan), (4, 16)]),
            .init(name: "chosen", points: [(2, 14.5)], joined: false),
            .init(name: "empty", points: []),
        ])
        let svg = chart.svg().document
        let texts = try parsedTexts(svg)
        XCTAssertTrue(texts.contains("ms per pass <vs> nodes"))
        XCTAssertTrue(texts.contains("ms & more"))
        XCTAssertTrue(texts.contains("4 threads: 4, 16"), "\(texts)")
        XCTAssertFalse(svg.contains("nan"))
        XCTAssertTrue(try parsedTexts(LineChart(title: "", xLabel: "", yLabel: "", series: []).svg().document).contains("0"))
    }

    func testTheHTMLPageIsSelfContainedAndEscaped() throws {
        let html = try TraceHTML.render(try hostileTrace(), title: "</title><script>x</script>", initialStep: 7)
        XCTAssertFalse(html.contains("<script src"))
        XCTAssertFalse(html.contains("<link"))
        let outside = html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "")
        XCTAssertFalse(outside.contains("http://") || outside.contains("https://") || outside.contains("url("))
        // Exactly one script, the page's own: no token or title opened or closed another.
        XCTAssertEqual(html.components(separatedBy: "<script").count, 2)
        XCTAssertEqual(html.components(separatedBy: "</script").count, 2)
        let script = html.components(separatedBy: "<script>")[1].components(separatedBy: "</script>")[0]
        XCTAssertFalse(script.contains("</") || script.contains("\u{2028}"))
        XCTAssertTrue(html.contains("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"))
        XCTAssertTrue(html.contains("<title>recycle trace: &lt;/title&gt;&lt;script&gt;x&lt;/script&gt;</title>"))
        XCTAssertFalse(html.contains("\u{1}"))
        XCTAssertTrue(html.contains("data-initial=\"1\""), "opens at step 7, the second")
        XCTAssertEqual(html.components(separatedBy: "<section class=\"step\"").count, 3)
        // The pictures inside are well-formed too.
        for picture in html.components(separatedBy: "<svg ").dropFirst() {
            XCTAssertNoThrow(try parsedTexts("<svg " + picture.components(separatedBy: "</svg>")[0] + "</svg>"))
        }
    }

    func testAMalformedTreeIsAnErrorNamingTheStep() throws {
        var step = try hostileTrace().firstInterestingStep!
        step.nodes[2].parent = 5
        XCTAssertThrowsError(try StepTree(step)) { XCTAssertEqual("\($0)", "step 7: node 2's parent 5 is not an earlier node") }
        step = try hostileTrace().firstInterestingStep!
        step.accepted = [0, 3]
        XCTAssertThrowsError(try StepTree(step)) { XCTAssertTrue("\($0)".contains("not a path down from the root")) }
    }

    func testTheCommand() throws {
        let directory = try temporaryDirectory()
        let path = directory + "/trace.jsonl"
        let trace = try hostileTrace()
        let encoder = JSONEncoder()
        var lines = Data()
        for generation in trace.generations {
            lines += try encoder.encode(generation.header) + Data("\n".utf8)
            for step in generation.steps { lines += try encoder.encode(step) + Data("\n".utf8) }
        }
        try lines.write(to: URL(fileURLWithPath: path))
        let text = try recycle(["trace", path])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.hasPrefix("step 7 ·"), text.stdout)
        let svg = try recycle(["trace", path, "--step", "6", "--format", "svg", "-o", directory + "/out.svg"])
        XCTAssertEqual(svg.status, 0, svg.stderr)
        XCTAssertTrue(try String(contentsOfFile: directory + "/out.svg", encoding: .utf8).contains("step 6 ·"))
        let html = try recycle(["trace", path, "--format=html"])
        XCTAssertEqual(html.status, 0, html.stderr)
        XCTAssertTrue(html.stdout.hasPrefix("<!DOCTYPE html>"))
        for (arguments, status, message) in [
            (["trace", path, "--step", "8"], 2, "--step 8: \(path) has steps 6...7"),
            (["trace", path, "--format", "png"], 2, "unknown format \"png\""),
            (["trace", directory + "/missing.jsonl"], 1, "cannot read"),
            (["trace", directory], 1, "not a regular file"),
        ] {
            let run = try recycle(arguments)
            XCTAssertEqual(run.status, Int32(status), "\(arguments): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(message), run.stderr)
        }
        try Data("{\"type\":\"step\"}\n".utf8).write(to: URL(fileURLWithPath: path))
        let bad = try recycle(["trace", path])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("line 1: a step before any header"), bad.stderr)
    }
}

struct NotXML: Error, CustomStringConvertible { let description: String }

extension XCTestCase {
    /// The text of each element of `xml` as Foundation's XML parser reads it; an error if
    /// the parser finds `xml` not well-formed.
    func parsedTexts(_ xml: String) throws -> [String] {
        let parser = XMLParser(data: Data(xml.utf8))
        let collector = TextCollector()
        parser.delegate = collector
        guard parser.parse() else {
            throw NotXML(description: "\(parser.parserError.map { "\($0)" } ?? "parse failed") at line \(parser.lineNumber)")
        }
        return collector.texts
    }
}

/// Collects the text of every element, one string per element.
private final class TextCollector: NSObject, XMLParserDelegate {
    var texts: [String] = []
    private var current: String?

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        current = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { current? += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if let current, !current.isEmpty { texts.append(current) }
        current = nil
    }
}
