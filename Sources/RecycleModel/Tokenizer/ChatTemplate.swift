/// One turn of a conversation.
public struct ChatMessage: Sendable, Equatable {
    /// "system", "user" or "assistant".
    public var role: String
    public var content: String

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
        var turns = messages
        if let defaultSystemPrompt, let first = messages.first, first.role != "system" {
            turns.insert(ChatMessage(role: "system", content: defaultSystemPrompt), at: 0)
        }
        var prompt = ""
        for turn in turns {
            prompt += "<|im_start|>\(turn.role)\n\(turn.content)<|im_end|>\n"
        }
        if addGenerationPrompt {
            prompt += "<|im_start|>assistant\n"
        }
        return prompt
    }
}
