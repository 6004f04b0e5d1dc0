#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// What a verification pass of `n` nodes costs on this machine, measured rather than assumed.
///
/// On a CPU a pass of `n` nodes grows quickly with `n` (the matmuls turn compute-bound), which
/// is why the paper's 80-node tree loses to plain decoding here; and attention makes big trees
/// relatively dearer on long contexts. So the curve is kept per context size class (below
/// 256 tokens, below 512, below 1024, ...), and it is learned from the real verification
/// passes alone (`record`): no pass is ever run just to time it, so a one-off run pays
/// nothing to learn it. A size never verified yet is priced optimistically, a little above
/// the largest one measured (`priorSlope`), so that drafters try it when their drafts look
/// promising; its first real pass then replaces the guess. Sizes beyond twice the largest
/// measured are not offered at all, so trees grow 2, 4, 8, ... nodes as each size proves
/// itself, and a wrong guess costs one pass of at most twice a known size. A state cache carries the curve
/// to the next process on the same machine.
public final class CostCurve: PersistentState {
    /// Measured `(nodes, seconds)` pairs in increasing `nodes`, per context class.
    public private(set) var points: [Int: [(nodes: Int, seconds: Double)]] = [:]
    /// Passes of one node in a row since a drafted tree was verified, per context class.
    private var plainRun: [Int: Int] = [:]
    /// After this many plain passes in a row, a class forgets its sizes above one, and they
    /// are priced by the prior again. Passes refine only the sizes that are verified, so a
    /// cost measured while the machine was busy could otherwise forbid every tree for good.
    static let forgetAfter = 256
    /// The price of a size beyond the largest measured: each extra node this fraction of a
    /// one-node pass. Optimistic on purpose (this machine measures 0.12-0.35 at two threads):
    /// a guess too high would never be tested, a guess too low costs one slow pass.
    static let priorSlope = 0.1
    /// Weight of one pass in a size's moving average: a pass preempted by another process
    /// should not move the curve by much.
    static let liveWeight = 0.1

    /// A curve with nothing measured: no tree is offered before the first pass is timed.
    public init() {}

    /// The size class of a context: 0 below 256 tokens, 1 below 512, and so on.
    static func sizeClass(_ context: Int) -> Int {
        var c = 0
        while 256 << c <= context { c += 1 }
        return c
    }

    /// Folds the measured time of a real pass of `nodes` nodes into the curve of its
    /// context's class: a moving average at a size measured before, a new point otherwise.
    public func record(nodes: Int, seconds: Double, context: Int) {
        guard nodes >= 1, seconds.isFinite, seconds > 0 else { return }
        let c = Self.sizeClass(context)
        var measured = points[c] ?? []
        plainRun[c] = nodes == 1 ? plainRun[c, default: 0] + 1 : 0
        if plainRun[c]! >= Self.forgetAfter {
            measured.removeAll { $0.nodes > 1 }
            plainRun[c] = 0
        }
        if let i = measured.firstIndex(where: { $0.nodes >= nodes }), measured[i].nodes == nodes {
            measured[i].seconds += Self.liveWeight * (seconds - measured[i].seconds)
        } else {
            measured.insert((nodes, seconds), at: measured.firstIndex { $0.nodes > nodes } ?? measured.count)
        }
        points[c] = measured
    }

    /// Seconds for a pass of `n` nodes: from the context's own class if it has a measured
    /// one-node pass, else the nearest class that has; linear between measured sizes; past
    /// the largest, at least that size's cost plus `priorSlope` of a one-node pass per node
    /// (more where the last two measured sizes show a steeper slope), and infinite beyond
    /// twice the largest. Infinite when nothing at all has been measured: no tree before the
    /// first pass.
    public func cost(_ n: Int, context: Int) -> Double {
        let wanted = Self.sizeClass(context)
        guard let measured = points.filter({ $0.value.first?.nodes == 1 })
            .min(by: { abs($0.key - wanted) < abs($1.key - wanted) })?.value else { return .infinity }
        if let upper = measured.firstIndex(where: { $0.nodes >= n }) {
            if measured[upper].nodes == n || upper == 0 { return measured[upper].seconds }
            let a = measured[upper - 1], b = measured[upper]
            return a.seconds + (b.seconds - a.seconds) * Double(n - a.nodes) / Double(b.nodes - a.nodes)
        }
        let last = measured[measured.count - 1]
        guard n <= 2 * last.nodes else { return .infinity }
        var slope = Self.priorSlope * measured[0].seconds
        if measured.count >= 2 {
            let before = measured[measured.count - 2]
            slope = max(slope, (last.seconds - before.seconds) / Double(last.nodes - before.nodes))
        }
        return last.seconds + slope * Double(n - last.nodes)
    }

    /// How many nodes to draft: the `m` that maximises expected tokens per second,
    /// `(1 + p[0] + ... + p[m-1]) / cost(m + 1)`, given acceptance probabilities in
    /// decreasing order. `m = 0` is plain decoding; a tree must promise `margin` times its
    /// rate to be chosen, since the estimates are noisy.
    public func bestSize(_ probabilities: [Double], context: Int, margin: Double) -> Int {
        guard cost(1, context: context).isFinite else { return 0 }
        var best = 0, bestRate = margin / cost(1, context: context), expected = 1.0
        for (m, p) in probabilities.enumerated() where p > 0 {
            expected += p
            let rate = expected / cost(m + 2, context: context)
            if rate > bestRate { best = m + 1; bestRate = rate }
        }
        return best
    }

    public var name: String { "costs" }
    public var scope: PersistentScope { .machine }
    public var variant: String { "" }
    public var fileExtension: String { "json" }

    /// JSON: `{"version": 1, "classes": {"0": [[1, 0.0121], [2, 0.0135], ...], ...}}`.
    public func encoded() -> [UInt8] {
        let classes = Dictionary(uniqueKeysWithValues: points.map { (String($0.key), $0.value.map { [Double($0.nodes), $0.seconds] }) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return [UInt8]((try? encoder.encode(Stored(version: 1, classes: classes))) ?? Data())
    }

    private struct Stored: Codable {
        var version: Int
        var classes: [String: [[Double]]]
    }

    public func restore(from bytes: [UInt8], source: String) throws(PersistentStateError) {
        let bad = PersistentStateError("\(source) is not a valid cost curve")
        guard let stored = try? JSONDecoder().decode(Stored.self, from: Data(bytes)), stored.version == 1 else { throw bad }
        var restored: [Int: [(nodes: Int, seconds: Double)]] = [:]
        for (key, pairs) in stored.classes {
            guard let c = Int(key), (0..<64).contains(c), !pairs.isEmpty else { throw bad }
            var measured: [(nodes: Int, seconds: Double)] = []
            for pair in pairs {
                guard pair.count == 2, let n = Int(exactly: pair[0]), n >= 1, n > (measured.last?.nodes ?? 0),
                      pair[1].isFinite, pair[1] > 0 else { throw bad }
                measured.append((n, pair[1]))
            }
            restored[c] = measured
        }
        points = restored
    }
}
