// `recycle trace --format svg`, and the trees of the HTML page: a step's tree as a picture
// that needs no Graphviz. Left to right, because token labels are wider than tall: the depth
// of a draft tree is a handful of columns while its width (the paper's tree has 80 nodes)
// becomes rows, which a page scrolls through naturally.

/// One step's tree drawn as SVG: one rounded box per node with its token and source, the
/// accepted path green and bold, rejected nodes gray, unreached ones paler, and the model's
/// own choice where the walk stopped as a dashed blue box.
public enum TreeSVG {
    /// A standalone .svg file: a header (the step, the produced tokens), the tree and a legend,
    /// styled by a stylesheet of its own.
    public static func document(_ tree: StepTree) -> String {
        let picture = layout(tree)
        let headerHeight = 48.0, legendHeight = 30.0
        let header = TreeText.header(tree)
        let produced = "produced: " + tree.step.produced.map { quotedToken($0.text) }.joined(separator: " ")
        // Widths of 14px bold sans-serif and of 12px monospace characters, generously.
        let textWidth = max(Double(displayWidth(header)) * 8.4, Double(displayWidth(produced)) * 12 * advance)
        let width = max(picture.width, margin * 2 + textWidth, 420)
        let height = headerHeight + picture.height + legendHeight
        let children = [
            SVGElement("style", text: stylesheet),
            SVGElement("rect", [("width", "100%"), ("height", "100%"), ("fill", "#ffffff")]),
            SVGElement("text", [("x", svgNumber(margin)), ("y", "20"), ("class", "t-head")], text: header),
            SVGElement("text", [("x", svgNumber(margin)), ("y", "38"), ("class", "t-produced")], text: produced),
            SVGElement("g", [("transform", "translate(0,\(svgNumber(headerHeight)))")], children: picture.elements),
            legend(x: margin, y: headerHeight + picture.height + 8),
        ]
        return SVGElement.svg(width: width, height: height, children: children).document
    }

    /// The tree alone as an `svg` element, for a page whose stylesheet includes `stylesheet`.
    public static func inline(_ tree: StepTree) -> SVGElement {
        let picture = layout(tree)
        return SVGElement.svg(width: picture.width, height: picture.height, children: picture.elements)
    }

    /// The rules the pictures' class names refer to. The page and the file share them, and
    /// one copy in a page serves every step's tree.
    public static let stylesheet = """
        .t-node rect { stroke-width: 1; }
        .t-acc rect { fill: \(TreePalette.accepted.fill); stroke: \(TreePalette.accepted.stroke); stroke-width: 2; }
        .t-acc .t-token { fill: \(TreePalette.accepted.text); font-weight: bold; }
        .t-rej rect { fill: \(TreePalette.rejected.fill); stroke: \(TreePalette.rejected.stroke); }
        .t-rej .t-token { fill: \(TreePalette.rejected.text); }
        .t-unr rect { fill: \(TreePalette.unreached.fill); stroke: \(TreePalette.unreached.stroke); }
        .t-unr .t-token, .t-unr .t-source { fill: \(TreePalette.unreached.text); }
        .t-choice rect { fill: \(TreePalette.choice.fill); stroke: \(TreePalette.choice.stroke); stroke-width: 1.5; stroke-dasharray: 4 3; }
        .t-choice .t-token { fill: \(TreePalette.choice.text); font-weight: bold; }
        .t-choice .t-source { fill: \(TreePalette.choice.stroke); }
        .t-token { font: \(svgNumber(tokenFont))px ui-monospace, Menlo, Consolas, monospace; }
        .t-source { font: \(svgNumber(sourceFont))px ui-monospace, Menlo, Consolas, monospace; fill: #80868b; }
        .t-edge { fill: none; stroke: \(TreePalette.unreached.stroke); stroke-width: 1.2; }
        .t-edge-rej { stroke: \(TreePalette.rejected.stroke); }
        .t-edge-acc { stroke: \(TreePalette.accepted.stroke); stroke-width: 2.5; }
        .t-edge-choice { stroke: \(TreePalette.choice.stroke); stroke-width: 1.5; stroke-dasharray: 4 3; }
        .t-head { font: bold 14px system-ui, sans-serif; fill: #202124; }
        .t-produced { font: 12px ui-monospace, Menlo, Consolas, monospace; fill: #3c4043; }
        .t-legend { font: 11px system-ui, sans-serif; fill: #3c4043; }
        """

    static let tokenFont = 13.0
    static let sourceFont = 10.0
    /// A monospace character's advance, as a fraction of the font size (0.6 in the common
    /// fonts; a little more so that labels never touch their box).
    static let advance = 0.62
    /// Token labels longer than this many columns are cut (the tooltip has them whole).
    static let labelColumns = 24
    static let boxHeight = 24.0, rowPitch = 32.0, columnGap = 40.0, padding = 8.0, margin = 12.0

    /// A box to draw: a node of the tree (at the node's index), or the model's choice (after
    /// the last node) hung below the node where the walk stopped.
    private struct Box {
        var parent: Int?
        var label: String
        var source: String?
        var tooltip: String
        var kind: Kind
        var depth: Int
        var children: [Int] = []
        var width = 0.0
        var x = 0.0
        var y = 0.0  // the centre line

        var tokenWidth: Double { Double(displayWidth(label)) * TreeSVG.tokenFont * TreeSVG.advance }
    }

    /// The tree's elements and the size they take.
    private static func layout(_ tree: StepTree) -> (elements: [SVGElement], width: Double, height: Double) {
        let step = tree.step
        var boxes = step.nodes.indices.map { i in
            Box(parent: i == 0 ? nil : step.nodes[i].parent, label: truncated(quotedToken(step.nodes[i].text), width: labelColumns),
                source: tree.source(of: i, short: true), tooltip: tree.details(of: i), kind: Kind(tree.marks[i]),
                depth: tree.depths[i], children: tree.children[i])
        }
        if let stop = tree.stop {
            let choice = boxes.count
            boxes.append(Box(parent: stop.node, label: truncated(quotedToken(stop.text), width: labelColumns),
                             source: "model", tooltip: "the model's own next token after node \(stop.node): "
                                + "\(quotedToken(stop.text)) (token \(stop.token))",
                             kind: .choice, depth: tree.depths[stop.node] + 1))
            boxes[stop.node].children.insert(choice, at: 0)  // next to the path it ends
        }
        for i in boxes.indices {
            let sourceWidth = boxes[i].source.map { Double(displayWidth($0)) * sourceFont * advance + 6 } ?? 0
            boxes[i].width = padding * 2 + boxes[i].tokenWidth + sourceWidth
        }
        // Columns as wide as their widest box; one row per leaf, depth first, and every parent
        // on its first child's row: subtrees never overlap, the root stays at the top of a
        // tall tree, and the rank-0 spine (where most walks go) is one straight line.
        let columns = (boxes.map(\.depth).max() ?? 0) + 1
        var columnX = [margin]
        for d in 0..<columns {
            let widest = boxes.filter { $0.depth == d }.map(\.width).max() ?? 0
            columnX.append(columnX[d] + widest + columnGap)
        }
        var order: [Int] = [], pending = [0]
        while let i = pending.popLast() {
            order.append(i)
            pending += boxes[i].children.reversed()
        }
        var row = 0
        for i in order where boxes[i].children.isEmpty {
            boxes[i].y = margin + boxHeight / 2 + Double(row) * rowPitch
            row += 1
        }
        for i in order.reversed() {
            boxes[i].x = columnX[boxes[i].depth]
            if let first = boxes[i].children.first { boxes[i].y = boxes[first].y }
        }
        // Edges under boxes, and the accepted path's over the others'.
        let edges = boxes.indices.dropFirst().map { edge(from: boxes[boxes[$0].parent!], to: boxes[$0]) }
        let elements = edges.filter { $0.kind != .accepted }.map(\.element) + edges.filter { $0.kind == .accepted }.map(\.element)
            + order.map(node)
        let width = columnX[columns] - columnGap + margin
        return (elements, width, margin * 2 + Double(max(row, 1) - 1) * rowPitch + boxHeight)

        func node(_ i: Int) -> SVGElement {
            let box = boxes[i]
            var parts = [
                SVGElement("title", text: box.tooltip),
                SVGElement("rect", [("x", svgNumber(box.x)), ("y", svgNumber(box.y - boxHeight / 2)), ("width", svgNumber(box.width)),
                                    ("height", svgNumber(boxHeight)), ("rx", "6")]),
                SVGElement("text", [("x", svgNumber(box.x + padding)), ("y", svgNumber(box.y + tokenFont * 0.35)), ("class", "t-token")],
                           text: box.label),
            ]
            if let source = box.source {
                parts.append(SVGElement("text", [("x", svgNumber(box.x + padding + box.tokenWidth + 6)),
                                                 ("y", svgNumber(box.y + sourceFont * 0.35)), ("class", "t-source")], text: source))
            }
            return SVGElement("g", [("class", "t-node " + box.kind.rawValue)], children: parts)
        }
    }

    /// An elbow from the right of `parent` to the left of `child`: along the parent's row to
    /// a trunk halfway across the gap before the child's column, down it, and along the
    /// child's row. Siblings share the trunk, so a wide fan of children reads as one bracket
    /// rather than a sheaf of crossing curves.
    private static func edge(from parent: Box, to child: Box) -> (element: SVGElement, kind: Kind) {
        let x1 = parent.x + parent.width, y1 = parent.y, x2 = child.x, y2 = child.y
        let trunk = x2 - columnGap / 2
        let bend = min(6, abs(y2 - y1) / 2)
        let down = y2 > y1 ? bend : -bend
        let n = svgNumber
        let d = y1 == y2 ? "M\(n(x1)),\(n(y1)) H\(n(x2))"
            : "M\(n(x1)),\(n(y1)) H\(n(trunk - bend)) Q\(n(trunk)),\(n(y1)) \(n(trunk)),\(n(y1 + down)) "
                + "V\(n(y2 - down)) Q\(n(trunk)),\(n(y2)) \(n(trunk + bend)),\(n(y2)) H\(n(x2))"
        return (SVGElement("path", [("d", d), ("class", "t-edge t-edge-" + child.kind.rawValue.dropFirst(2))]), child.kind)
    }

    /// How a box is drawn, named by its class in the stylesheet.
    private enum Kind: String {
        case accepted = "t-acc", rejected = "t-rej", unreached = "t-unr", choice = "t-choice"

        init(_ mark: StepTree.Mark) {
            switch mark {
            case .accepted: self = .accepted
            case .rejected: self = .rejected
            case .unreached: self = .unreached
            }
        }
    }

    /// A row of sample boxes naming the styles.
    private static func legend(x: Double, y: Double) -> SVGElement {
        let entries: [(Kind, String)] = [(.accepted, "accepted"), (.rejected, "rejected"), (.unreached, "not reached"),
                                         (.choice, "model's choice")]
        var children: [SVGElement] = []
        var left = x
        for (kind, name) in entries {
            children.append(SVGElement("g", [("class", "t-node " + kind.rawValue)], children: [
                SVGElement("rect", [("x", svgNumber(left)), ("y", svgNumber(y)), ("width", "18"), ("height", "12"), ("rx", "3")]),
            ]))
            children.append(SVGElement("text", [("x", svgNumber(left + 24)), ("y", svgNumber(y + 10)), ("class", "t-legend")], text: name))
            left += 24 + Double(name.count) * 6.5 + 18
        }
        return SVGElement("g", children: children)
    }
}
