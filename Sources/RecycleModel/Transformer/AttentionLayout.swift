// Tree attention's layout: how a batch of tokens, a causal chain (prefill) or a draft tree
// (verification), maps onto positions and visible KV-cache slots. The attention kernel only
// reads this; every rule about who sees whom lives here.

/// Where each token of a batch sits and which cache slots it sees: slots `0..<prefix[i]`,
/// then `extra[extraStart[i]..<extraStart[i + 1]]`, in position order.
struct AttentionLayout {
    var positions: [Int] = []
    var prefix: [Int] = []
    var extra: [Int32] = []
    var extraStart: [Int] = [0]
    var maxVisible = 0

    /// A causal chain: token `i` at position `start + i` sees slots `0 ... start + i`.
    init(causal n: Int, start: Int) {
        positions = (0..<n).map { start + $0 }
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
            prefix.append(start)
            var chain: [Int32] = []
            var node = i
            while node >= 0 {
                chain.append(Int32(start + node))
                node = parents[node]
            }
            extra += chain.reversed()
            extraStart.append(extra.count)
            maxVisible = max(maxVisible, start + chain.count)
        }
    }
}
