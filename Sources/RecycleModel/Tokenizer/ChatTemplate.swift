/// One turn of a conversation.
public struct ChatMessage: Sendable, Equatable {
    /// "system", "user" or "assistant".
    public var role: String
    /// The message's text; markers in it stay plain text (see `PromptPiece`).
    public var content: String

    /// A message of `role` ("system", "user" or "assistant") saying `content`.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// Turns a conversation into the prompt text an instruction-tuned model was trained on.
/// The raw value is the weights file's `chat_template` metadata.
///
/// The beginning-of-sequence token is not part of the prompt: `Tokenizer.encode` adds it
/// when the model wants one (Gemma's own template writes "<bos>" first; encoding the
/// rendered text with the tokenizer's BOS gives the same ids).
public enum ChatTemplate: String, Sendable {
    /// `<|im_start|>{role}\n{content}<|im_end|>\n` per message.
    case chatml
    /// Gemma 3's: `<start_of_turn>{role}\n{content}<end_of_turn>\n` per message, role
    /// "assistant" written "model", content trimmed of surrounding whitespace. A system
    /// message is no turn of its own: its content and "\n\n" open the first turn's content.
    case gemma3

    /// The control token that ends a turn (a reply included): generation stops at it, and a
    /// reply cut short gets it appended so that the conversation stays well formed.
    public var endOfTurn: String {
        switch self {
        case .chatml: "<|im_end|>"
        case .gemma3: "<end_of_turn>"
        }
    }

    /// The prompt for `messages`.
    ///
    /// - Parameters:
    ///   - defaultSystemPrompt: put first as a system message when the conversation is
    ///     not empty and does not start with one, as SmolLM2's own template does; nil
    ///     for none.
    ///   - addGenerationPrompt: end with the opening of an assistant message, so that the
    ///     model's continuation is the reply.
    public func render(
        _ messages: [ChatMessage], defaultSystemPrompt: String?, addGenerationPrompt: Bool
    ) -> String {
        pieces(messages, defaultSystemPrompt: defaultSystemPrompt, addGenerationPrompt: addGenerationPrompt)
            .map(\.text).joined()
    }

    /// The prompt as `render` gives it, split into the template's markup and the messages'
    /// content, for `Tokenizer.encode(_:)`: only the markup may become control tokens.
    public func pieces(
        _ messages: [ChatMessage], defaultSystemPrompt: String?, addGenerationPrompt: Bool
    ) -> [PromptPiece] {
        var turns = messages
        if let defaultSystemPrompt, let first = messages.first, first.role != "system" {
            turns.insert(ChatMessage(role: "system", content: defaultSystemPrompt), at: 0)
        }
        switch self {
        case .chatml:
            var pieces: [PromptPiece] = []
            for turn in turns {
                pieces += [.markup("<|im_start|>\(turn.role)\n"), .content(turn.content), .markup("<|im_end|>\n")]
            }
            if addGenerationPrompt {
                pieces.append(.markup("<|im_start|>assistant\n"))
            }
            return pieces
        case .gemma3:
            return Self.gemma3Pieces(turns, addGenerationPrompt: addGenerationPrompt)
        }
    }

    /// Gemma 3's official Jinja template (tokenizer_config.json), less its `{{ bos_token }}`.
    /// Like it, a conversation of only a system message renders no turn.
    private static func gemma3Pieces(_ turns: [ChatMessage], addGenerationPrompt: Bool) -> [PromptPiece] {
        var turns = turns[...]
        var systemPrefix: String?
        if let first = turns.first, first.role == "system" {
            systemPrefix = first.content + "\n\n"
            turns = turns.dropFirst()
        }
        var pieces: [PromptPiece] = []
        for turn in turns {
            pieces.append(.markup("<start_of_turn>\(turn.role == "assistant" ? "model" : turn.role)\n"))
            // The system prompt is the user's text as far as the model knows: content.
            if let prefix = systemPrefix {
                pieces.append(.content(prefix))
                systemPrefix = nil
            }
            pieces += [.content(trimmed(turn.content)), .markup("<end_of_turn>\n")]
        }
        if addGenerationPrompt {
            pieces.append(.markup("<start_of_turn>model\n"))
        }
        return pieces
    }

    /// `text` without leading and trailing whitespace, as Jinja's `trim` (Python's
    /// `str.strip()`): Unicode White_Space plus the separators U+001C...U+001F.
    private static func trimmed(_ text: String) -> String {
        func isSpace(_ scalar: Unicode.Scalar) -> Bool {
            scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
        }
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isSpace($0) }),
              let last = scalars.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(scalars[first...last])
    }
}
