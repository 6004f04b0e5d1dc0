/// Finds special tokens in text. They are matched literally before the text is split
/// into pieces, so that "<|im_end|>" in a prompt is one token rather than the encoding of
/// its characters.
///
/// Control tokens are matched only where the caller allows it (see `PromptPiece`);
/// SentencePiece's user-defined tokens ("\n", runs of spaces, "<table>") are ordinary
/// text that the vocabulary spells as one token, so they are matched everywhere, as
/// llama.cpp and Hugging Face tokenizers do.
struct SpecialTokenMatcher: Sendable {
    /// A token to look for.
    struct Token {
        var text: String
        var id: Int32
        /// True if the token is matched in content too, not only in markup.
        var matchesInContent: Bool
    }

    private struct Terminal: Sendable {
        var id: Int32
        var matchesInContent: Bool
    }

    /// A trie over the tokens' scalars: edge `node << 32 | scalar` leads to a child
    /// node. One flat dictionary rather than one per node keeps construction fast with
    /// Gemma's 6,400 special tokens, most of which start with "<".
    private var edges: [UInt64: Int32] = [:]
    /// The token that ends at each node, if any; node 0 is the root.
    private var terminals: [Terminal?] = [nil]

    /// Indexes `tokens`; of equal texts, the first keeps the text.
    init(tokens: [Token]) {
        for token in tokens {
            var node: Int32 = 0
            for scalar in token.text.unicodeScalars {
                let key = Self.edge(from: node, scalar)
                if let child = edges[key] {
                    node = child
                } else {
                    node = Int32(terminals.count)
                    edges[key] = node
                    terminals.append(nil)
                }
            }
            if node != 0 && terminals[Int(node)] == nil {
                terminals[Int(node)] = Terminal(id: token.id, matchesInContent: token.matchesInContent)
            }
        }
    }

    /// The longest special token whose text starts at `index`, and its length in scalars.
    ///
    /// - Parameter markupEnd: the end of the markup piece that `index` lies in (0 in
    ///   content): a token that is only matched in markup must end by then, so that it
    ///   cannot take scalars from the content that follows.
    func match(in scalars: [Unicode.Scalar], at index: Int, markupEnd: Int) -> (id: Int32, length: Int)? {
        var node: Int32 = 0
        var position = index
        var longest: (id: Int32, length: Int)?
        while position < scalars.count, let child = edges[Self.edge(from: node, scalars[position])] {
            node = child
            position += 1
            if let terminal = terminals[Int(node)], terminal.matchesInContent || position <= markupEnd {
                longest = (terminal.id, position - index)
            }
        }
        return longest
    }

    private static func edge(from node: Int32, _ scalar: Unicode.Scalar) -> UInt64 {
        UInt64(UInt32(node)) << 32 | UInt64(scalar.value)
    }
}
