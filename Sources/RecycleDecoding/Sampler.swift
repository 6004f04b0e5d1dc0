#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// Chooses the next token from a row of logits.
public enum Sampler: Sendable, Equatable {
    /// The highest logit; ties go to the lowest id. Every exactness test uses this.
    case greedy
    /// Softmax at `temperature`, drawn with a seeded generator from the most likely tokens:
    /// the `topK` best (0: no limit), then those at least `minP` times as likely as the best
    /// (0: no limit), then the smallest set of those whose probability reaches `topP`
    /// (nucleus sampling).
    case random(temperature: Float, topP: Float, seed: UInt64, topK: Int = 0, minP: Float = 0)

    /// Whether this is `.greedy`.
    public var isGreedy: Bool { self == .greedy }
}

/// Index of the largest value; the first one wins a tie.
public func argmax(_ values: UnsafeBufferPointer<Float>) -> Int {
    var best = 0
    for i in 1..<values.count where values[i] > values[best] { best = i }
    return best
}

/// The `k` largest entries, largest first (ties: lower id first).
public func topK(_ values: UnsafeBufferPointer<Float>, k: Int) -> [(id: Int, value: Float)] {
    var top: [(id: Int, value: Float)] = []
    top.reserveCapacity(k + 1)
    for i in 0..<values.count where top.count < k || values[i] > top[top.count - 1].value {
        let v = values[i]
        var at = top.count
        while at > 0 && top[at - 1].value < v { at -= 1 }
        top.insert((i, v), at: at)
        if top.count > k { top.removeLast() }
    }
    return top
}

/// A sampler with its random state: one per generation.
struct TokenPicker {
    let sampler: Sampler
    private var rng: SplitMix64

    init(_ sampler: Sampler) {
        self.sampler = sampler
        if case let .random(_, _, seed, _, _) = sampler { rng = SplitMix64(seed: seed) } else { rng = SplitMix64(seed: 0) }
    }

    mutating func pick(from logits: UnsafeBufferPointer<Float>) -> Int32 {
        guard case let .random(temperature, topP, _, topK, minP) = sampler else { return Int32(argmax(logits)) }
        // Probabilities at this temperature, in descending order.
        let maximum = logits[argmax(logits)]
        var probabilities = logits.enumerated().map { (id: $0.offset, p: expf(($0.element - maximum) / temperature)) }
        probabilities.sort { $0.p > $1.p || ($0.p == $1.p && $0.id < $1.id) }
        // The candidates: top-k, then min-p (relative to the best, whose weight is 1).
        var candidates = topK > 0 ? min(topK, probabilities.count) : probabilities.count
        while candidates > 1 && probabilities[candidates - 1].p < minP { candidates -= 1 }
        let total = probabilities[0..<candidates].reduce(0) { $0 + $1.p }
        // Keep the nucleus: the most likely tokens until their mass reaches topP.
        var kept = 0, mass: Float = 0
        while kept < candidates && (kept == 0 || mass < topP * total) {
            mass += probabilities[kept].p
            kept += 1
        }
        var r = Float(rng.nextUnitDouble()) * mass
        for entry in probabilities[0..<kept] {
            r -= entry.p
            if r <= 0 { return Int32(entry.id) }
        }
        return Int32(probabilities[kept - 1].id)
    }
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64), so that the
/// same seed gives the same text on every platform.
public struct SplitMix64: Sendable {
    private var state: UInt64

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 random bits.
    public mutating func nextUnitDouble() -> Double { Double(next() >> 11) * 0x1p-53 }
}
