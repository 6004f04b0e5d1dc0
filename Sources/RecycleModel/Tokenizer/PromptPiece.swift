/// A part of a prompt, and whether special-token text in it (such as `<|im_end|>`) may become
/// a control token.
///
/// A chat template's own markup may; the text of a message may not, or a user could close
/// their turn and open a system turn by typing the markers. Pieces are encoded as one text:
/// only where special tokens may be matched differs, so a message without marker text gets
/// the same ids as the whole prompt encoded at once.
public struct PromptPiece: Sendable, Equatable {
    /// The piece's text.
    public var text: String
    /// True for markup (special-token text becomes control tokens), false for plain content.
    public var parsesSpecialTokens: Bool

    /// A piece of `text`; see `markup(_:)` and `content(_:)` for the two usual kinds.
    public init(_ text: String, parsesSpecialTokens: Bool) {
        self.text = text
        self.parsesSpecialTokens = parsesSpecialTokens
    }

    /// Markup: special-token text in it becomes control tokens.
    public static func markup(_ text: String) -> PromptPiece { PromptPiece(text, parsesSpecialTokens: true) }

    /// Content: plain text, whatever it contains.
    public static func content(_ text: String) -> PromptPiece { PromptPiece(text, parsesSpecialTokens: false) }
}
