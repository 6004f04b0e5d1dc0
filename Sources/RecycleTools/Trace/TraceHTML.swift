// `recycle trace --format html`: a whole trace as one page to step through, pass by pass,
// the way one reads a drafter's behaviour: which tree it drafted, how far the model went
// along it, what the matrix learned, and how the text grew. Everything is rendered here and
// the page's script only shows and hides it, so the page holds no data a script must parse
// (no JSON to escape) and works offline, from a file, with nothing else.

/// One self-contained HTML page for a whole trace: inline style and script, no external
/// references.
public enum TraceHTML {
    /// The page for `trace`, named `title` (the file), opening at the step numbered
    /// `initialStep` (the first if nil or not in the trace). Throws if a step's tree is
    /// malformed.
    public static func render(_ trace: Trace, title: String, initialStep: Int?) throws(Trace.ReadError) -> String {
        let names = trace.tokenTexts
        let steps = trace.steps
        let initial = steps.firstIndex { $0.step == initialStep } ?? 0
        var strip: [String] = [], sections: [String] = [], infos: [String] = [], texts: [String] = []
        let most = max(steps.map(\.produced.count).max() ?? 1, 1)
        var index = 0
        for (g, generation) in trace.generations.enumerated() {
            infos.append("<div class=\"gen-info\" data-gen=\"\(g)\">\(generationInfo(generation))</div>")
            var text = "<div class=\"gen-text\" data-gen=\"\(g)\" hidden><span class=\"prompt\">"
                + generation.header.prompt.map { escaped(visibleText($0.text, keepingLayout: true)) }.joined() + "</span>"
            for (n, step) in generation.steps.enumerated() {
                let tree = try StepTree(step, names: names)
                let height = 12 + 88 * step.produced.count / most
                let first = n == 0 && g > 0 ? " first" : ""  // a gap between generations
                strip.append("<span class=\"bar\(first)\(tree.acceptedDrafts > 0 ? " hit" : "")\" data-i=\"\(index)\" "
                    + "style=\"height:\(height)%\" title=\"step \(step.step): \(step.produced.count) tokens\"></span>")
                sections.append(section(tree, index: index, generation: g))
                for token in step.produced {
                    text += "<span class=\"tk\" data-i=\"\(index)\" title=\"step \(step.step)\">"
                        + escaped(visibleText(token.text, keepingLayout: true)) + "</span>"
                }
                index += 1
            }
            texts.append(text + "</div>")
        }
        let body = steps.isEmpty
            ? "<p class=\"empty\">This trace holds no verification passes.</p>"
            : """
            <nav class="controls">
            <button id="prev" title="previous pass (←)">◀ prev</button>
            <input id="slider" type="range" min="0" max="\(steps.count - 1)" value="\(initial)" aria-label="pass">
            <button id="next" title="next pass (→)">next ▶</button>
            <span id="where"></span><span class="hint">← → keys · click a bar or a token</span>
            </nav>
            <div id="strip" title="tokens each pass produced">\(strip.joined())</div>
            <section class="text">\(texts.joined(separator: "\n"))</section>
            <main>\(sections.joined(separator: "\n"))</main>
            """
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>recycle trace: \(escaped(title))</title>
            <style>
            \(TracePageAssets.stylesheet)
            \(TreeSVG.stylesheet)
            </style>
            </head>
            <body data-initial="\(initial)">
            <header><h1>Trace <span class="file">\(escaped(title))</span></h1>\(infos.joined(separator: "\n"))</header>
            \(body)
            <script>
            \(TracePageAssets.script)
            </script>
            </body>
            </html>

            """
    }

    private static func escaped(_ text: String) -> String { markupEscaped(text) }

    /// A token as a chip: quoted and escaped, its id on hover.
    private static func chip(_ text: String, id: Int32, kind: String = "") -> String {
        "<span class=\"chip\(kind.isEmpty ? "" : " " + kind)\" title=\"token \(id)\">\(escaped(quotedToken(text)))</span>"
    }

    /// How the generation ran, and how it ended.
    private static func generationInfo(_ generation: Trace.Generation) -> String {
        let h = generation.header
        // The summary says how much of the prompt an earlier turn had already computed.
        let reused = generation.summary.map { $0.reusedTokens > 0 ? " (\($0.reusedTokens) reused)" : "" } ?? ""
        let settings = h.settings.map { "\($0.name) \($0.value)" }.joined(separator: " · ")
        var facts = ["turn \(h.turn)", "drafter <b>\(escaped(h.drafter))</b>" + (settings.isEmpty ? "" : " (\(escaped(settings)))"),
                     escaped(h.sampling), "\(h.prompt.count) prompt tokens" + reused, escaped(h.model)]
        if let s = generation.summary {
            facts.append("<b>\(s.tokens) tokens in \(s.steps) passes</b> (\(fixed(s.meanAccepted, 2)) a pass)")
            facts.append("\(fixed(s.tokensPerSecond, 1)) tokens/s · stop: \(escaped(s.stopReason))")
        } else {
            facts.append("no summary: the trace ends before this generation did")
        }
        return facts.joined(separator: " · ")
    }

    /// One pass: its tree on the left; the accepted path, output, rewritten rows and sizing
    /// on the right.
    private static func section(_ tree: StepTree, index: Int, generation: Int) -> String {
        let step = tree.step
        var path = step.accepted.map { chip(step.nodes[$0].text, id: step.nodes[$0].token, kind: "acc") }.joined(separator: " → ")
        if let stop = tree.stop { path += " → " + chip(stop.text, id: stop.token, kind: "choice") + " <i>model's choice</i>" }
        var info = [
            "<h3>Accepted path</h3><p>\(path)</p>",
            "<h3>Produced (\(step.produced.count))</h3><p>\(step.produced.map { chip($0.text, id: $0.id) }.joined(separator: " "))</p>",
        ]
        if let rows = step.rows, !rows.isEmpty { info.append(rowTable(rows)) }
        if let sizing = step.sizing { info.append(sizingInfo(sizing)) }
        return """
            <section class="step" data-i="\(index)" data-step="\(step.step)" data-gen="\(generation)" hidden>
            <div class="tree"><h2>\(escaped(TreeText.header(tree)))</h2>
            <div class="legend"><span class="key acc">accepted</span><span class="key rej">rejected</span>\
            <span class="key unr">not reached</span><span class="key choice">model's choice</span> · hover a node for its details</div>
            <div class="scroll">\(TreeSVG.inline(tree).markup)</div></div>
            <div class="info">\(info.joined(separator: "\n"))</div>
            </section>
            """
    }

    /// The matrix rows the pass rewrote: a token's candidates before and after, with the
    /// candidates that came in and those that went out marked. (Ranks shift whenever one
    /// comes in, so marking moves would mark nearly everything.) A big tree rewrites dozens
    /// of rows; then the table starts folded, so that the sizing below stays in view.
    private static func rowTable(_ rows: [TraceRow]) -> String {
        var html = "<details\(rows.count <= 8 ? " open" : "")><summary><h3>Rows rewritten (\(rows.count))</h3></summary>"
            + "<table class=\"rows\"><tr><th>row</th><th>before</th><th>after</th></tr>"
        for row in rows {
            let before = Set(row.before.map(\.id)), after = Set(row.after.map(\.id))
            let old = row.before.map { chip($0.text, id: $0.id, kind: after.contains($0.id) ? "" : "gone") }
            let new = row.after.map { chip($0.text, id: $0.id, kind: before.contains($0.id) ? "" : "new") }
            let writes = row.writes > 1 ? "<br><small>written \(row.writes)×</small>" : ""
            html += "<tr><td>\(chip(row.token.text, id: row.token.id))\(writes)</td><td>\(old.joined(separator: " "))</td>"
                + "<td>\(new.joined(separator: " "))</td></tr>"
        }
        return html + "</table><p class=\"note\"><span class=\"chip new\">new</span> "
            + "<span class=\"chip gone\">dropped</span> candidates, in rank order (rank 0 first)</p></details>"
    }

    /// The adaptive drafter's choice: the numbers, and the cost curve with the chosen size.
    private static func sizingInfo(_ sizing: TraceSizing) -> String {
        func list(_ values: [Double]) -> String { values.map { fixed($0, 2) }.joined(separator: " ") }
        var html = "<h3>Sizing</h3><p><b>\(sizing.chosen)</b> drafted nodes chosen · expected "
            + "<b>\(fixed(sizing.expectedTokens, 2))</b> tokens a pass · expected speedup <b>\(fixed(sizing.expectedSpeedup, 2))×</b></p>"
        if let rates = sizing.hitRates { html += "<p class=\"nums\">hit rate by rank: \(list(rates))</p>" }
        html += "<p class=\"nums\">candidate probabilities: \(list(Array(sizing.probabilities.prefix(24))))"
            + (sizing.probabilities.count > 24 ? " …" : "") + "</p>"
        guard !sizing.costMs.isEmpty else { return html }
        let curve = sizing.costMs.enumerated().map { (Double($0.offset + 1), $0.element) }
        var series = [LineChart.Series(name: "ms per pass", points: curve)]
        if sizing.costMs.indices.contains(sizing.chosen) {
            series.append(.init(name: "chosen (\(sizing.chosen + 1) nodes)",
                                points: [(Double(sizing.chosen + 1), sizing.costMs[sizing.chosen])], joined: false))
        }
        let chart = LineChart(title: "Cost of a pass", xLabel: "nodes in the pass (root included)", yLabel: "ms", series: series)
        return html + "<div class=\"chart\">\(chart.svg(width: 420, height: 240).markup)</div>"
    }
}
