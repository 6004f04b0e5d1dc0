/// The suffix-match half of drafting: an index of every earlier token of this process's
/// contexts (`SuffixIndex`), the continuation of the longest earlier match of the context's
/// end as a chain of draft nodes (the spine), and how often such spines were right.
///
/// How far a spine is worth verifying depends on how long the match is: a 20-token verbatim
/// match (code, a quoted passage) usually goes on, a one-token match rarely does. So the
/// acceptance statistics are kept per match-length class (1, 2, 3-4, 5-8, 9-16, 17+) and per
/// depth: `rate[c][d]` is the recent frequency with which the spine's token at depth `d` was
/// right, given that the ones above it were.
struct SuffixSpine {
    private(set) var index = SuffixIndex()
    /// Where the current generation's context starts in the index: `index.tokens` from here
    /// on is that context, as far as it is indexed (not a copy of it).
    private var documentStart = 0
    private var hits: [[Double]]
    private var trials: [[Double]]
    /// The last spine proposed: its match-length class and tokens.
    private var last: (lengthClass: Int, tokens: [Int32])?

    /// Longest spine drafted.
    static let maximumDepth = 16
    static let lengthClasses = 6
    /// Weight of the past in the statistics, per observation of a class and depth.
    static let decay = 0.95
    /// Beyond this many indexed tokens (25-35 MB of index, at the 95-140 bytes per token
    /// measured on Spec-Bench), the index starts afresh.
    static let maximumTokens = 1 << 18

    init() {
        // One pseudo-observation per class and depth, from 25% for one-token matches to 75%
        // for 17 or more: until their own record speaks, long matches are trusted more.
        hits = (0..<Self.lengthClasses).map { [Double](repeating: 0.25 + 0.1 * Double($0), count: Self.maximumDepth) }
        trials = [[Double]](repeating: [Double](repeating: 1, count: Self.maximumDepth), count: Self.lengthClasses)
    }

    /// A new generation: a context that extends the last one (the next turn of a chat) goes
    /// on in the same document; any other starts a new one, so that earlier prompts and
    /// answers stay searchable but no match crosses from one into the other.
    mutating func begin(context: [Int32]) {
        if index.count + context.count > Self.maximumTokens {
            index.removeAll()
            documentStart = 0
        } else if !context.starts(with: index.tokens[documentStart...]) {
            index.startDocument()
            documentStart = index.count
        }
    }

    /// Indexes the tokens of `context` not indexed yet (during decoding, the one to three
    /// tokens each step adds): O(1) amortised per token, whatever the context's length.
    mutating func catchUp(with context: [Int32]) {
        let indexed = index.count - documentStart
        guard context.count > indexed else { return }
        index.append(contentsOf: context[indexed...])
    }

    /// Adds the spine (if the context's end matched earlier) as a chain under the root, each
    /// node with the probability that it and every spine node above it are right; returns
    /// the chain's nodes.
    mutating func addSpine(to tree: inout CandidateTree) -> [(node: Int, token: Int32, p: Double)] {
        guard let match = index.match else { last = nil; return [] }
        let tokens = Array(index.continuation(after: match.end, maxCount: Self.maximumDepth))
        var lengthClass = 0
        while 1 << lengthClass < match.length && lengthClass < Self.lengthClasses - 1 { lengthClass += 1 }
        last = (lengthClass, tokens)
        var nodes: [(node: Int, token: Int32, p: Double)] = []
        var p = 1.0, parent = 0
        for (depth, token) in tokens.enumerated() {
            p *= hits[lengthClass][depth] / trials[lengthClass][depth]
            parent = tree.add(token, parent: parent, p: p, source: .copied(from: match.end + 1 + depth, matchLength: match.length))
            nodes.append((parent, token, p))
        }
        return nodes
    }

    /// Scores the last spine against the tokens the step produced, depth by depth, down to
    /// its first miss or the last produced token (beyond that nothing is known); whether the
    /// spine was verified or not, so the record keeps up even while spines are not drafted.
    mutating func observe(produced: [Int32]) {
        guard let last else { return }
        for depth in 0..<min(last.tokens.count, produced.count) {
            let hit = last.tokens[depth] == produced[depth]
            trials[last.lengthClass][depth] = trials[last.lengthClass][depth] * Self.decay + 1
            hits[last.lengthClass][depth] = hits[last.lengthClass][depth] * Self.decay + (hit ? 1 : 0)
            if !hit { break }
        }
    }
}
