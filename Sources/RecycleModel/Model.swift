/// A loaded model: its mapped weights, tokenizer and chat template.
public final class Model: Sendable {
    public let file: WeightsFile
    public let weights: LlamaWeights
    public let tokenizer: Tokenizer
    public let chatTemplate: ChatTemplate?
    public let defaultSystemPrompt: String?

    public var config: ModelConfig { weights.config }

    /// Opens and validates the weights file at `path` (docs/FORMAT.md).
    public init(path: String) throws(WeightsFileError) {
        let file = try WeightsFile(path: path)
        self.file = file
        weights = try LlamaWeights(file: file)
        do {
            tokenizer = try Tokenizer(spec: file.metadata.tokenizer)
        } catch {
            throw .invalidTokenizer(String(describing: error))
        }
        chatTemplate = file.metadata.chatTemplate.flatMap(ChatTemplate.init(rawValue:))
        defaultSystemPrompt = file.metadata.defaultSystemPrompt
    }

    /// Token ids that end a generation: the EOS token, and `<|endoftext|>` when the
    /// vocabulary has it (a base-model document end).
    public var stopTokens: Set<Int32> {
        var ids: Set<Int32> = [tokenizer.eosID]
        if let end = tokenizer.id(of: "<|endoftext|>") { ids.insert(end) }
        return ids
    }
}
