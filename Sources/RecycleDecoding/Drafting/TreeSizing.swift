/// How an adaptive drafter sized its last tree, for traces: the bet between what a bigger
/// tree may gain and what its pass costs, with the numbers it was decided on.
public struct TreeSizing: Sendable {
    /// The recycler's recent hit rate of each rank (nil for drafters without a matrix).
    public var hitRates: [Double]?
    /// The estimated probability that each candidate node is accepted, most likely first.
    public var probabilities: [Double]
    /// The cost curve in use: seconds of a pass of 1, 2, ... nodes at this context, as far
    /// as sizes are offered.
    public var costs: [Double]
    /// Drafted nodes besides the root.
    public var chosen: Int
    /// Tokens a pass of the chosen tree is expected to produce (1 for plain decoding).
    public var expectedTokens: Double
    /// The chosen tree's expected tokens per second against plain decoding's.
    public var expectedSpeedup: Double
}

/// What an adaptive drafter decided about a tree's size, kept until a trace asks: the
/// `TreeSizing` with its cost curve is only built then.
public struct SizeChoice: Sendable {
    /// The candidates' acceptance estimates, most likely first.
    public let probabilities: [Double]
    /// How many of them were drafted.
    public let chosen: Int
    /// The context the tree was drafted on (cost curves are kept per context size).
    public let context: Int

    /// The full record for a trace: `costs`' current curve at this context, the expected tokens
    /// and speedup of the chosen size.
    public func sizing(costs: CostCurve, hitRates: [Double]?) -> TreeSizing {
        var curve: [Double] = []
        for n in 1...(probabilities.count + 1) {
            let c = costs.cost(n, context: context)
            guard c.isFinite else { break }
            curve.append(c)
        }
        let expected = 1 + probabilities.prefix(chosen).reduce(0, +)
        let speedup = curve.count > chosen ? expected / curve[chosen] * curve[0] : 1
        return TreeSizing(hitRates: hitRates, probabilities: probabilities, costs: curve, chosen: chosen,
                          expectedTokens: expected, expectedSpeedup: speedup)
    }
}
