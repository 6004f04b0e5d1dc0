/// An incremental suffix automaton over a token sequence: after every appended token it
/// knows the longest suffix of the text that also ended at an earlier position, and one such
/// earlier position, in O(1) amortised time per token. Prompt lookup done by scanning the
/// context backwards costs O(context) per step; this index makes it independent of length.
///
/// States are the automaton's classes of substrings with the same set of end positions;
/// `length`, `link` and `end` are parallel arrays of `Int32` indexed by state (state 0 is the
/// root, the empty string). All transitions live in one open-addressing table keyed by
/// (state, token), so no state owns a heap allocation of its own.
///
/// Invariant: `end[v]` is always one real end position of every string of state `v`. A new
/// state gets the position that created it; a clone copies its original's (the clone's
/// strings are suffixes of the original's, so they end there too); and when an append makes
/// `s` the link of the new state, `s`'s strings end at the new position, which replaces
/// `end[s]`. Ancestors of `s` in the link tree also end there but are not updated (that
/// would cost O(depth)); their older positions stay true. So `match.end` is always a valid
/// earlier occurrence, and usually the most recent one (82% of matches in the random tests
/// over 2-50 token alphabets, where old and new occurrences interleave most).
///
/// Memory: 4 bytes per token, 16 per state, and per transition an 8-byte list entry plus
/// 24-48 bytes of table (12-byte slots, the table between a quarter and half full). An
/// automaton has at most 2n states and 3n transitions, so at worst 180 bytes per token.
/// Measured on the Spec-Bench questions tokenized for SmolLM2: 1.25 states and 2.2
/// transitions per token, 95-140 bytes per token in all (0.56 MB for 4096 tokens). Growth is
/// the caller's to bound: check `count` and `removeAll()` when it matters; `maximumTokens`
/// only keeps state numbers within `Int32`.
public struct SuffixIndex: Sendable {
    /// States are numbered in `Int32` and there are at most two per token.
    public static let maximumTokens = 1 << 30

    /// The indexed tokens, document separators included (negative ids).
    public private(set) var tokens: [Int32] = []
    /// Number of indexed tokens, separators included.
    public var count: Int { tokens.count }

    /// Length of each state's longest string.
    private var length: [Int32] = [0]
    /// Suffix link: the state of the longest suffix that ends at more positions (-1 for the root).
    private var link: [Int32] = [-1]
    /// An end position of each state's strings (see the invariant above); -1 for the root.
    private var end: [Int32] = [-1]
    /// The state of the whole text.
    private var last: Int32 = 0
    private var transitions = TransitionTable()
    /// The answer to `match`, computed by the last append (length 0: none).
    private var matchLength = 0, matchEnd = 0
    /// How many separators have been appended: the next one is `-(separators + 1)`.
    private var separators: Int32 = 0

    /// An empty index.
    public init() {}

    /// Appends one token (ids must be >= 0). O(1) amortised.
    public mutating func append(_ token: Int32) {
        precondition(token >= 0, "token ids are >= 0; negative ids are document separators")
        extend(token)
    }

    /// Appends each token of `s` in order (ids must be >= 0).
    public mutating func append<S: Sequence>(contentsOf s: S) where S.Element == Int32 {
        for token in s { append(token) }
    }

    /// Starts a new document: no later match will cross the boundary (append a fresh negative
    /// separator id, -1, -2, ...). Does nothing if the text is empty or already ends with a
    /// separator. A separator occurs once, so no string containing it occurs twice: the
    /// automaton itself keeps matches inside documents.
    public mutating func startDocument() {
        guard let lastToken = tokens.last, lastToken >= 0 else { return }
        separators += 1
        extend(-separators)
    }

    /// The longest suffix of the text (ending at the last appended token) that also ends at an
    /// earlier position: its length, and an earlier position where it ends (`end < count - 1`).
    /// nil when there is none (the last token never occurred before) or the text ends with a
    /// separator. Also nil when the earlier occurrence found is the last of its document (a
    /// separator follows it), since it has nothing to propose: the next occurrence of the same
    /// suffix will be found instead, because that position then replaces it.
    public var match: (length: Int, end: Int)? {
        matchLength > 0 ? (matchLength, matchEnd) : nil
    }

    /// Up to `maxCount` tokens that followed position `end`: tokens[end+1 ..< ...], stopping
    /// before any separator and at the end of the text.
    public func continuation(after end: Int, maxCount: Int) -> ArraySlice<Int32> {
        precondition(end >= -1 && end < count && maxCount >= 0)
        let window = tokens[(end + 1)..<min(end + 1 + maxCount, count)]
        return window[..<(window.firstIndex { $0 < 0 } ?? window.endIndex)]
    }

    /// Forgets every token and frees the automaton.
    public mutating func removeAll() {
        self = SuffixIndex()
    }

    /// The classic online construction (Blumer et al.), plus the `end` bookkeeping.
    private mutating func extend(_ token: Int32) {
        precondition(count < Self.maximumTokens, "a SuffixIndex holds at most \(Self.maximumTokens) tokens")
        let position = Int32(count)
        tokens.append(token)
        let cur = newState(length: length[Int(last)] + 1, link: 0, end: position)
        // Every suffix of the old text without a `token` transition gets one to `cur`.
        var p = last
        var q: Int32 = -1
        while p >= 0 {
            q = transitions[p, token]
            if q >= 0 { break }
            transitions.add(p, token, cur)
            p = link[Int(p)]
        }
        // `s`: the state of the longest suffix of the new text that occurred before.
        var s: Int32 = 0
        if p >= 0 {
            if length[Int(p)] + 1 == length[Int(q)] {
                s = q
            } else {
                // q also holds longer strings that did not occur here: split off the short ones.
                s = newState(length: length[Int(p)] + 1, link: link[Int(q)], end: end[Int(q)])
                transitions.copyEdges(from: q, to: s)
                while p >= 0, transitions[p, token] == q {
                    transitions.redirect(p, token, to: s)
                    p = link[Int(p)]
                }
                link[Int(q)] = s
            }
        }
        link[Int(cur)] = s
        last = cur
        matchLength = 0
        if s != 0 {
            let earlier = Int(end[Int(s)])
            end[Int(s)] = position
            if tokens[earlier + 1] >= 0 { (matchLength, matchEnd) = (Int(length[Int(s)]), earlier) }
        }
    }

    private mutating func newState(length l: Int32, link k: Int32, end e: Int32) -> Int32 {
        length.append(l)
        link.append(k)
        end.append(e)
        transitions.addState()
        return Int32(length.count - 1)
    }
}

/// The automaton's transitions: one linear-probing hash table from (state, token) to the next
/// state, plus each state's list of tokens (needed to copy a state's edges when it is cloned;
/// a state never loses a token, a redirect only changes the table's value). Measured with
/// `recycle-bench drafting`, a step takes about half the time it takes with a Swift
/// `Dictionary<UInt64, Int32>`, whose seeded SipHash dominates it.
private struct TransitionTable: Sendable {
    /// `UInt64(state) << 32 | token bits`; `empty` marks a free slot (no state reaches 2^32 - 1).
    private var keys = [UInt64](repeating: empty, count: 64)
    private var values = [Int32](repeating: 0, count: 64)
    private var used = 0
    /// Per state, the head of its token list in `edgeToken`/`edgeNext` (-1: no edges).
    private var firstEdge: [Int32] = [-1]
    private var edgeToken: [Int32] = []
    private var edgeNext: [Int32] = []

    private static let empty = UInt64.max

    mutating func addState() { firstEdge.append(-1) }

    /// The next state, or -1.
    subscript(state: Int32, token: Int32) -> Int32 {
        let key = Self.key(state, token)
        var i = slot(key)
        while true {
            let k = keys[i]
            if k == key { return values[i] }
            if k == Self.empty { return -1 }
            i = (i + 1) & (keys.count - 1)
        }
    }

    /// Adds a transition that does not exist yet.
    mutating func add(_ state: Int32, _ token: Int32, _ target: Int32) {
        if 2 * (used + 1) > keys.count { grow() }
        let key = Self.key(state, token)
        var i = slot(key)
        while keys[i] != Self.empty { i = (i + 1) & (keys.count - 1) }
        keys[i] = key
        values[i] = target
        used += 1
        edgeToken.append(token)
        edgeNext.append(firstEdge[Int(state)])
        firstEdge[Int(state)] = Int32(edgeToken.count - 1)
    }

    /// Changes the target of an existing transition.
    mutating func redirect(_ state: Int32, _ token: Int32, to target: Int32) {
        let key = Self.key(state, token)
        var i = slot(key)
        while keys[i] != key { i = (i + 1) & (keys.count - 1) }
        values[i] = target
    }

    mutating func copyEdges(from source: Int32, to clone: Int32) {
        var e = firstEdge[Int(source)]
        while e >= 0 {
            let token = edgeToken[Int(e)]
            add(clone, token, self[source, token])
            e = edgeNext[Int(e)]
        }
    }

    private static func key(_ state: Int32, _ token: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: state)) << 32 | UInt64(UInt32(bitPattern: token))
    }

    /// Fibonacci hashing: the top bits of key x 2^64/phi spread consecutive states and tokens.
    private func slot(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - keys.count.trailingZeroBitCount))
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values
        keys = [UInt64](repeating: Self.empty, count: 2 * oldKeys.count)
        values = [Int32](repeating: 0, count: 2 * oldKeys.count)
        for (k, v) in zip(oldKeys, oldValues) where k != Self.empty {
            var i = slot(k)
            while keys[i] != Self.empty { i = (i + 1) & (keys.count - 1) }
            keys[i] = k
            values[i] = v
        }
    }
}
