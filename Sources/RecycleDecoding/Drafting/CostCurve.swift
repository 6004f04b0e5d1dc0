import Foundation

/// What a verification pass of `n` nodes costs on this machine, measured rather than assumed.
///
/// On a CPU a pass of `n` nodes grows quickly with `n` (the matmuls turn compute-bound), which
/// is why the paper's 80-node tree loses to plain decoding here; and attention makes big trees
/// relatively dearer on long contexts. So the curve is measured per context size class
/// (below 256 tokens, below 512, below 1024, ...) the first time a generation meets that
/// class, with one quick pass per size; then every real verification pass refines the
/// point of its size (`record`), so the curve follows the machine's load, and a state cache
/// carries it to the next process on the same machine.
public final class CostCurve: PersistentState {
    /// Measured `(nodes, seconds)` pairs in increasing `nodes`, per context class.
    public private(set) var points: [Int: [(nodes: Int, seconds: Double)]] = [:]
    /// Passes of one node in a row since a drafted tree was verified, per context class.
    private var plainRun: [Int: Int] = [:]
    /// After this many plain passes in a row, a class is measured again when a drafter next
    /// finds a promising draft. Live passes refine only the sizes that are verified, so a
    /// curve measured while the machine was busy could otherwise forbid every tree for good;
    /// re-measuring costs a few passes every few seconds of decoding at worst.
    static let remeasureAfter = 256
    /// The cost ratio cost(n)/cost(1) past which calibration stops measuring: no tree that
    /// big can pay (it would have to confirm more tokens per pass than Token Recycling's best
    /// reported mean), so beyond it the cost is extrapolated. This keeps a calibration to a
    /// fraction of a second on a CPU.
    static let enough = 3.0
    /// Weight of one live pass in a point's moving average: a pass preempted by another
    /// process should not move the curve by much.
    static let liveWeight = 0.1
    /// Doubling sizes: a pass's cost is close to linear in its nodes between them, and every
    /// measurement is a pass the user waits for.
    static let sizes = [1, 2, 4, 8, 16, 32, 64, 128]

    public init() {}

    /// The size class of a context: 0 below 256 tokens, 1 below 512, and so on.
    static func sizeClass(_ context: Int) -> Int {
        var c = 0
        while 256 << c <= context { c += 1 }
        return c
    }

    public func needsCalibration(context: Int) -> Bool {
        let c = Self.sizeClass(context)
        return points[c] == nil || plainRun[c, default: 0] >= Self.remeasureAfter
    }

    /// Measures `cost(n)` in increasing `n`, up to `largest` nodes, until a pass costs
    /// `enough` times a single token; each the faster of two passes, since on a shared
    /// machine a pass is only ever slowed down.
    public func calibrate(context: Int, largest: Int, _ measure: (Int) -> Double) {
        var measured: [(nodes: Int, seconds: Double)] = []
        for n in Self.sizes where n <= largest {
            measured.append((n, min(measure(n), measure(n))))
            if measured.count >= 2, measured[measured.count - 1].seconds >= Self.enough * measured[0].seconds { break }
        }
        points[Self.sizeClass(context)] = measured
        plainRun[Self.sizeClass(context)] = 0
    }

    /// Folds the measured time of a real pass of `nodes` nodes into the curve of its
    /// context's class (a new point if that size was not measured yet). Nothing happens
    /// before the class is calibrated: one point alone gives no slope.
    public func record(nodes: Int, seconds: Double, context: Int) {
        let c = Self.sizeClass(context)
        guard var measured = points[c], seconds.isFinite, seconds > 0 else { return }
        plainRun[c] = nodes == 1 ? plainRun[c, default: 0] + 1 : 0
        if let i = measured.firstIndex(where: { $0.nodes >= nodes }), measured[i].nodes == nodes {
            measured[i].seconds += Self.liveWeight * (seconds - measured[i].seconds)
        } else {
            measured.insert((nodes, seconds), at: measured.firstIndex { $0.nodes > nodes } ?? measured.count)
        }
        points[c] = measured
    }

    /// Seconds for a pass of `n` nodes: the context's own class if measured, else the
    /// nearest measured one; linear between measured sizes and beyond the last two.
    public func cost(_ n: Int, context: Int) -> Double {
        let wanted = Self.sizeClass(context)
        guard let measured = points.min(by: { abs($0.key - wanted) < abs($1.key - wanted) })?.value else { return .infinity }
        guard measured.count >= 2 else { return measured[0].seconds * Double(n) }
        let upper = measured.firstIndex { $0.nodes >= n } ?? measured.count - 1
        guard measured[upper].nodes != n else { return measured[upper].seconds }
        let a = measured[max(upper - 1, 0)], b = measured[upper == 0 ? 1 : upper]
        return a.seconds + (b.seconds - a.seconds) * Double(n - a.nodes) / Double(b.nodes - a.nodes)
    }

    /// How many nodes to draft: the `m` that maximises expected tokens per second,
    /// `(1 + p[0] + ... + p[m-1]) / cost(m + 1)`, given acceptance probabilities in
    /// decreasing order. `m = 0` is plain decoding; a tree must promise `margin` times its
    /// rate to be chosen, since the estimates are noisy.
    public func bestSize(_ probabilities: [Double], context: Int, margin: Double) -> Int {
        guard !points.isEmpty else { return 0 }
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

    /// JSON: `{"version": 1, "classes": {"0": [[1, 0.0121], [2, 0.0135], ...], ...}}`. A class
    /// measured on a KV cache too small for its bigger passes holds infinite costs (the pass
    /// did not fit; it says nothing about this machine): it is left out, so that a run with
    /// room measures it in full.
    public func encoded() -> [UInt8] {
        let complete = points.filter { $0.value.allSatisfy { $0.seconds.isFinite } }
        let classes = Dictionary(uniqueKeysWithValues: complete.map { (String($0.key), $0.value.map { [$0.nodes, $0.seconds] as [Any] }) })
        let object: [String: Any] = ["version": 1, "classes": classes]
        return [UInt8]((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    public func restore(from bytes: [UInt8], source: String) throws(PersistentStateError) {
        let bad = PersistentStateError("\(source) is not a valid cost curve")
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              object["version"] as? Int == 1, let classes = object["classes"] as? [String: [[Double]]]
        else { throw bad }
        var restored: [Int: [(nodes: Int, seconds: Double)]] = [:]
        for (key, pairs) in classes {
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
