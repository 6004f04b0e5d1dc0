// `recycle trace FILE` draws a step in the terminal by default: the quickest look at what a
// drafter proposed and how far the model went along it, with nothing to open.

/// One step's tree as lines of text, drawn with box-drawing characters.
public enum TreeText {
    /// A header (step, context, sizes, time), one line per node (accepted ✓, rejected ✗,
    /// not reached ·, with its source, and the model's choice where the walk stopped), the
    /// produced tokens and a legend.
    public static func render(_ tree: StepTree) -> String {
        let step = tree.step
        let order = tree.preorder
        var prefix = [String](repeating: "", count: step.nodes.count)
        var indent = prefix  // what a node's children's lines start with
        for i in order {
            let siblings = tree.children[i]
            for (n, child) in siblings.enumerated() {
                let last = n == siblings.count - 1
                prefix[child] = indent[i] + (last ? "└─ " : "├─ ")
                indent[child] = indent[i] + (last ? "   " : "│  ")
            }
        }
        let left = order.map { prefix[$0] + symbol(tree.marks[$0]) + " " + quotedToken(step.nodes[$0].text) }
        // Sources line up in a column unless a long token would push it far right.
        let column = min(left.map(displayWidth).max() ?? 0, 48)
        var lines = [header(tree)]
        for (line, i) in zip(left, order) {
            var text = line
            var notes: [String] = []
            if let source = tree.source(of: i, short: false) { notes.append(source) }
            if let stop = tree.stop, stop.node == i { notes.append("→ model chose " + quotedToken(stop.text)) }
            if !notes.isEmpty {
                text += String(repeating: " ", count: max(column - displayWidth(line), 0)) + "  " + notes.joined(separator: "  ")
            }
            lines.append(text)
        }
        lines.append("produced \(step.produced.count): " + step.produced.map { quotedToken($0.text) }.joined(separator: " "))
        lines.append("✓ accepted  ✗ rejected  · not reached")
        return lines.joined(separator: "\n") + "\n"
    }

    static func symbol(_ mark: StepTree.Mark) -> String {
        switch mark {
        case .accepted: "✓"
        case .rejected: "✗"
        case .unreached: "·"
        }
    }

    /// "step 3 · context 41 · 3 drafted, 2 accepted · pass 14.10 ms (draft 0.02 ms)"
    static func header(_ tree: StepTree) -> String {
        let step = tree.step
        return "step \(step.step) · context \(step.context) · \(tree.drafted) drafted, \(tree.acceptedDrafts) accepted"
            + " · pass \(fixed(step.passMs, 2)) ms (draft \(fixed(step.draftMs, 2)) ms)"
    }
}
