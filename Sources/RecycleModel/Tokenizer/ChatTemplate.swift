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
public enum ChatTemplate: String, Sendable {
    /// `<|im_start|>{role}\n{content}<|im_end|>\n` per message.
    case chatml

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
        var pieces: [PromptPiece] = []
        for turn in turns {
            pieces += [.markup("<|im_start|>\(turn.role)\n"), .content(turn.content), .markup("<|im_end|>\n")]
        }
        if addGenerationPrompt {
            pieces.append(.markup("<|im_start|>assistant\n"))
        }
        return pieces
    }
}
