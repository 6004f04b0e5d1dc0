/// A loaded model: its mapped weights, tokenizer and chat template.
public final class Model: Sendable {
    /// The mapped weights file, kept open for as long as the model lives.
    public let file: WeightsFile
    /// The transformer weights, shape-checked against the config.
    public let weights: ModelWeights
    /// The tokenizer built from the file's metadata.
    public let tokenizer: Tokenizer
    /// How to turn a conversation into a prompt; nil for a model without one (a base model).
    public let chatTemplate: ChatTemplate?
    /// The system message a conversation without one starts with; nil for none.
    public let defaultSystemPrompt: String?

    /// The transformer's shape.
    public var config: ModelConfig { weights.config }

    /// Opens and validates the weights file at `path` (docs/FORMAT.md).
    public init(path: String) throws(WeightsFileError) {
        let file = try WeightsFile(path: path)
        self.file = file
        weights = try ModelWeights(file: file)
        do {
            tokenizer = try Tokenizer(spec: file.metadata.tokenizer)
        } catch {
            throw .invalidTokenizer(String(describing: error))
        }
        chatTemplate = file.metadata.chatTemplate.flatMap(ChatTemplate.init(rawValue:))
        defaultSystemPrompt = file.metadata.defaultSystemPrompt
    }

    /// Token ids that end a generation: the EOS token, `<|endoftext|>` when the
    /// vocabulary has it (a base-model document end), and the chat template's end of a turn
    /// (Gemma's `<end_of_turn>` is not its EOS).
    public var stopTokens: Set<Int32> {
        var ids: Set<Int32> = [tokenizer.eosID]
        if let end = tokenizer.id(of: "<|endoftext|>") { ids.insert(end) }
        if let end = endOfTurn { ids.insert(end) }
        return ids
    }

    /// The token that ends a chat turn (`ChatTemplate.endOfTurn`), if the model has a template.
    public var endOfTurn: Int32? { chatTemplate.flatMap { tokenizer.id(of: $0.endOfTurn) } }
}
