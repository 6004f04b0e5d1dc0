// What every drawing of a step needs and the records leave implicit: the tree's shape,
// which nodes the walk accepted, checked or never reached, and where it stopped. It is
// checked once here, so that no renderer meets a node whose parent is missing or a path
// that is not a path (a trace file may come from anywhere).

/// One verification pass's tree, checked and indexed for drawing.
public struct StepTree: Sendable {
    /// What the walk down the tree did with a node.
    public enum Mark: Sendable, Equatable {
        /// On the accepted path (the root always is).
        case accepted
        /// A child of an accepted node that the model's choice there did not match.
        case rejected
        /// Below a rejected node: never compared.
        case unreached
    }

    /// The step record, as read.
    public let step: TraceStep
    /// Each node's children, in the order of `step.nodes` (the drafter's order).
    public let children: [[Int]]
    /// Each node's distance from the root, from the parents (not trusting `depth`).
    public let depths: [Int]
    /// What the walk did with each node, in the order of `step.nodes`.
    public let marks: [Mark]
    /// The model's own token where the walk stopped (the last accepted node): the token the
    /// pass produced beyond the drafts. Nil if the trace does not record it.
    public let stop: TraceChoice?
    /// Token texts by id, to name the matrix rows that recycled guesses came from.
    private let names: [Int32: String]

    /// Checks `step`: node ids are positions, every parent an earlier node, `accepted` a
    /// path down from the root. `names` adds texts for tokens the step itself does not hold.
    public init(_ step: TraceStep, names: [Int32: String] = [:]) throws(Trace.ReadError) {
        func fail(_ why: String) -> Trace.ReadError { Trace.ReadError(description: "step \(step.step): \(why)") }
        let nodes = step.nodes
        guard let root = nodes.first, root.id == 0, root.parent == -1 else {
            throw fail("the first node must be the root: id 0, parent -1")
        }
        var children = [[Int]](repeating: [], count: nodes.count)
        var depths = [0]
        for (i, node) in nodes.enumerated().dropFirst() {
            guard node.id == i else { throw fail("node \(i) has id \(node.id); ids must count up from 0") }
            guard (0..<i).contains(node.parent) else {
                throw fail("node \(i)'s parent \(node.parent) is not an earlier node")
            }
            children[node.parent].append(i)
            depths.append(depths[node.parent] + 1)
        }
        var marks = [Mark](repeating: .unreached, count: nodes.count)
        for (j, id) in step.accepted.enumerated() {
            guard nodes.indices.contains(id), (j == 0 ? id == 0 : nodes[id].parent == step.accepted[j - 1]) else {
                throw fail("the accepted nodes \(step.accepted) are not a path down from the root")
            }
            marks[id] = .accepted
            for child in children[id] { marks[child] = .rejected }  // the next accepted one is marked next
        }
        self.step = step
        self.children = children
        self.depths = depths
        self.marks = marks
        self.stop = step.choices.last.flatMap { $0.node == step.accepted.last ? $0 : nil }
        self.names = step.nodes.reduce(into: names) { $0[$1.token] = $1.text }
    }

    /// Node indices depth first, parents before children, children in order: the order in
    /// which a drawing lists them. Iterative, as a copied spine can be deep.
    public var preorder: [Int] {
        var order: [Int] = [], pending = [0]
        while let i = pending.popLast() {
            order.append(i)
            pending += children[i].reversed()
        }
        return order
    }

    /// Drafted nodes: all but the root.
    public var drafted: Int { step.nodes.count - 1 }
    /// Drafted nodes the walk accepted.
    public var acceptedDrafts: Int { max(step.accepted.count - 1, 0) }

    /// Where node `i`'s guess came from: `r0 of " the"` (recycled from that token's matrix
    /// row at rank 0), `copy@123 (match 5)` (copied after a 5-token match), both joined by
    /// " + ", "root", or nil when the drafter does not say. `short` drops the row's token
    /// when it is the parent's (the edge already shows it) and shortens the match.
    public func source(of i: Int, short: Bool) -> String? {
        let node = step.nodes[i]
        guard i != 0 else { return "root" }
        guard let source = node.source else { return nil }
        var parts: [String] = []
        if let row = source.rowOf {
            let rank = source.rank.map { "r\($0)" } ?? "row"
            if short && row == step.nodes[node.parent].token {
                parts.append(rank)
            } else {
                parts.append(rank + " of " + (names[row].map(quotedToken) ?? "#\(row)"))
            }
        } else if let rank = source.rank {
            parts.append("rank \(rank)")
        }
        if let position = source.copiedFrom {
            let match = source.matchLength.map { short ? " m\($0)" : " (match \($0))" } ?? ""
            parts.append("copy@\(position)" + match)
        }
        return parts.isEmpty ? nil : parts.joined(separator: " + ")
    }

    /// Everything known about node `i`, one fact a line: for tooltips.
    public func details(of i: Int) -> String {
        let node = step.nodes[i]
        var lines = ["node \(i): \(quotedToken(node.text)) (token \(node.token))"]
        if let source = source(of: i, short: false) { lines.append(source) }
        if let path = node.rankPath { lines.append("rank path " + path.map(String.init).joined(separator: ".")) }
        switch marks[i] {
        case .accepted: lines.append("accepted")
        case .rejected: lines.append("rejected: the model chose otherwise")
        case .unreached: lines.append("not reached")
        }
        return lines.joined(separator: "\n")
    }
}

extension Trace {
    /// The text of every token the trace names (prompts, nodes, choices, outputs, rows), by id.
    public var tokenTexts: [Int32: String] {
        var names: [Int32: String] = [:]
        func add(_ tokens: [TraceToken]) { for t in tokens { names[t.id] = t.text } }
        for generation in generations {
            add(generation.header.prompt)
            for step in generation.steps {
                add(step.produced)
                for node in step.nodes { names[node.token] = node.text }
                for choice in step.choices { names[choice.token] = choice.text }
                for row in step.rows ?? [] { add([row.token] + row.before + row.after) }
            }
        }
        return names
    }

    /// The step `recycle trace` shows when not told: the first whose walk accepted a drafted
    /// token (the interesting kind), else the first.
    public var firstInterestingStep: TraceStep? {
        steps.first { $0.accepted.count > 1 } ?? steps.first
    }
}
