// `recycle trace --format dot`: for Graphviz users, who can lay a tree out their own way
// (`dot -Tpng`, `-Tpdf`) or feed it to other tools.

/// One step's tree as a Graphviz digraph.
public enum TreeDot {
    /// Left to right like the SVG picture; the accepted path bold and green, rejected nodes
    /// gray, the model's choice where the walk stopped a dashed blue node. Every node is
    /// labelled with its token and source and has its details as a tooltip.
    public static func render(_ tree: StepTree) -> String {
        let step = tree.step
        var lines = [
            "digraph step\(step.step) {",
            "  rankdir=LR;",
            "  graph [label=\(quoted(TreeText.header(tree))), labelloc=t, fontname=\"sans-serif\", fontsize=12];",
            "  node [shape=box, style=\"rounded,filled\", fontname=\"monospace\", fontsize=11];",
            "  edge [arrowsize=0.6];",
        ]
        for i in tree.preorder {
            let node = step.nodes[i]
            let mark = tree.marks[i]
            let colors = TreePalette.colors(mark)
            let label = [quotedToken(node.text), tree.source(of: i, short: true)].compactMap { $0 }.joined(separator: "\n")
            let width = mark == .accepted ? 2 : 1
            lines.append("  n\(i) [label=\(quoted(label)), tooltip=\(quoted(tree.details(of: i))), fillcolor=\"\(colors.fill)\", "
                + "color=\"\(colors.stroke)\", fontcolor=\"\(colors.text)\", penwidth=\(width)];")
            if i != 0 {
                let edgeColor = mark == .accepted ? colors.stroke : TreePalette.rejected.stroke
                lines.append("  n\(node.parent) -> n\(i) [color=\"\(edgeColor)\", penwidth=\(width)];")
            }
        }
        if let stop = tree.stop {
            let colors = TreePalette.choice
            lines.append("  choice [label=\(quoted(quotedToken(stop.text) + "\nmodel's choice")), style=\"rounded,dashed\", "
                + "color=\"\(colors.stroke)\", fontcolor=\"\(colors.text)\", fillcolor=\"\(colors.fill)\"];")
            lines.append("  n\(stop.node) -> choice [style=dashed, color=\"\(colors.stroke)\"];")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    /// `text` as a dot string: quotes and backslashes escaped, a newline as dot's `\n`
    /// (a centred line break); a lone backslash would otherwise start an escape of dot's own.
    public static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": break
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
