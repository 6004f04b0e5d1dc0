/// Prompt-lookup decoding (PLD): drafts by copying what followed the most recent earlier
/// occurrence of the context's last n-gram (n from `maxNgram` down to 1). Training-free and
/// model-free: strong when the output repeats the prompt or itself.
public final class PromptLookup: Drafter {
    /// Longest n-gram matched; shorter ones are tried when it finds nothing. At least 1.
    public let maxNgram: Int
    /// Most tokens copied into a draft, as one chain. At least 1.
    public let draftLength: Int

    /// Both values must be at least 1.
    public init(maxNgram: Int = 3, draftLength: Int = 8) {
        precondition(maxNgram >= 1 && draftLength >= 1)
        self.maxNgram = maxNgram
        self.draftLength = draftLength
    }

    /// "pld".
    public var name: String { "pld" }
    /// 0: it learns nothing from verification.
    public var candidatesPerNode: Int { 0 }
    /// Does nothing: every draft searches the context it is given.
    public func begin(context: [Int32]) {}
    /// Does nothing.
    public func observe(_ verification: Verification) {}

    /// A chain copying up to `draftLength` tokens after the latest earlier match of the
    /// context's last `maxNgram`, ..., 1 tokens; the root alone when none matches.
    public func draft(root: Int32, context: [Int32]) -> DraftTree {
        var tree = DraftTree(root: root)
        let end = context.count
        for n in stride(from: min(maxNgram, end - 1), through: 1, by: -1) {
            let suffix = context[(end - n)..<end]
            // The latest earlier match whose continuation is not empty.
            var start = end - n - 1
            while start >= 0 {
                if context[start..<(start + n)].elementsEqual(suffix) {
                    var parent = 0
                    for position in (start + n)..<min(start + n + draftLength, end) {
                        parent = tree.add(context[position], parent: parent, source: .copied(from: position, matchLength: n))
                    }
                    return tree
                }
                start -= 1
            }
        }
        return tree
    }
}
