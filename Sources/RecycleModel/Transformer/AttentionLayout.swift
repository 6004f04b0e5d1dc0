// Tree attention's layout: how a batch of tokens, a causal chain (prefill) or a draft tree
// (verification), maps onto positions and visible KV-cache slots. The attention kernel only
// reads this; every rule about who sees whom lives here.

/// Where each token of a batch sits and which cache slots it sees: slots
/// `first[i]..<prefix[i]` (slot `s` of these holds position `s`), then
/// `extra[extraStart[i]..<extraStart[i + 1]]`, in position order.
struct AttentionLayout {
    var positions: [Int] = []
    var first: [Int] = []
    var prefix: [Int] = []
    var extra: [Int32] = []
    /// The position held in each `extra` slot.
    var extraPositions: [Int] = []
    var extraStart: [Int] = [0]
    var maxVisible = 0

    /// A causal chain: token `i` at position `start + i` sees slots `0 ... start + i`.
    init(causal n: Int, start: Int) {
        positions = (0..<n).map { start + $0 }
        first = [Int](repeating: 0, count: n)
        prefix = (0..<n).map { start + $0 + 1 }
        extraStart = [Int](repeating: 0, count: n + 1)
        maxVisible = start + n
    }

    /// A tree: node `i` at position `start + depth(i)` sees the committed slots `0..<start`,
    /// then the slots of its ancestors, root first, then its own slot `start + i`.
    init(tree parents: [Int], start: Int) {
        var depth: [Int] = []
        for (i, p) in parents.enumerated() {
            depth.append(p < 0 ? 0 : depth[p] + 1)
            positions.append(start + depth[i])
            first.append(0)
            prefix.append(start)
            var chain: [Int] = []
            var node = i
            while node >= 0 {
                chain.append(node)
                node = parents[node]
            }
            extra += chain.reversed().map { Int32(start + $0) }
            extraPositions += chain.reversed().map { start + depth[$0] }
            extraStart.append(extra.count)
            maxVisible = max(maxVisible, start + chain.count)
        }
    }

    /// The same batch through a sliding window (Gemma's local layers): a token at position
    /// `p` sees only positions `p - window + 1 ... p`, in the committed cache and in the
    /// tree alike.
    func windowed(_ window: Int) -> AttentionLayout {
        var w = self
        w.extra = []
        w.extraPositions = []
        w.extraStart = [0]
        w.maxVisible = 0
        for i in positions.indices {
            let oldest = positions[i] - window + 1
            w.first[i] = min(prefix[i], max(first[i], oldest))
            for e in extraStart[i]..<extraStart[i + 1] where extraPositions[e] >= oldest {
                w.extra.append(extra[e])
                w.extraPositions.append(extraPositions[e])
            }
            w.extraStart.append(w.extra.count)
            w.maxVisible = max(w.maxVisible, prefix[i] - w.first[i] + w.extraStart[i + 1] - w.extraStart[i])
        }
        return w
    }
}
