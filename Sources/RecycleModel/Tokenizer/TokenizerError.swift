/// Why a tokenizer spec was rejected. The spec comes from a file, so every problem is
/// reported rather than trapped on.
public enum TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A tokenizer model other than "gpt2-bpe" and "sentencepiece".
    case unsupportedModel(String)
    /// A key that the spec's model needs is absent (e.g. `merges` for gpt2-bpe).
    case missingKey(model: String, key: String)
    /// A pre-tokenizer other than "smollm".
    case unsupportedPreTokenizer(String)
    /// No tokens at all.
    case emptyVocabulary
    /// A table too large for 32-bit token ids and ranks.
    case tableTooLarge(table: String, count: Int)
    /// `token_types` does not have one entry per token.
    case tokenTypeCountMismatch(tokens: Int, tokenTypes: Int)
    /// A type outside GGUF's codes 0...6.
    case invalidTokenType(id: Int, type: Int)
    /// A special id (`bos_id`, `eos_id`, `unk_id`, `pad_id`) that is not a token.
    case idOutOfRange(name: String, id: Int, vocabularySize: Int)
    /// A merge rule that is not two non-empty symbols separated by one space.
    case malformedMerge(rank: Int, rule: String)
    /// `scores` does not have one entry per token.
    case scoreCountMismatch(tokens: Int, scores: Int)
    /// A score that is not a number, which no merge order can rank.
    case invalidScore(id: Int)
    /// A token of type 6 (byte) whose text is not `<0xXX>`.
    case malformedByteToken(id: Int, text: String)
    /// `add_space_prefix` true: no supported model needs it.
    case unsupportedSpacePrefix

    public var description: String {
        switch self {
        case .unsupportedModel(let model):
            "unsupported tokenizer model \"\(model)\" (expected \"gpt2-bpe\" or \"sentencepiece\")"
        case .missingKey(let model, let key):
            "the \(model) tokenizer needs the key \"\(key)\""
        case .unsupportedPreTokenizer(let name):
            "unsupported pre-tokenizer \"\(name)\" (expected \"smollm\")"
        case .emptyVocabulary:
            "the tokenizer has no tokens"
        case .tableTooLarge(let table, let count):
            "the tokenizer's \(table) table has \(count) entries, more than 32-bit ids allow"
        case .tokenTypeCountMismatch(let tokens, let tokenTypes):
            "the tokenizer has \(tokens) tokens but \(tokenTypes) token types"
        case .invalidTokenType(let id, let type):
            "token \(id) has type \(type), not a GGUF token type (0...6)"
        case .idOutOfRange(let name, let id, let vocabularySize):
            "\(name) \(id) is not a token id (vocabulary size \(vocabularySize))"
        case .malformedMerge(let rank, let rule):
            "merge \(rank) \"\(rule)\" is not two symbols separated by one space"
        case .scoreCountMismatch(let tokens, let scores):
            "the tokenizer has \(tokens) tokens but \(scores) scores"
        case .invalidScore(let id):
            "token \(id) has a score that is not a number"
        case .malformedByteToken(let id, let text):
            "token \(id) has type 6 (byte) but its text \"\(text)\" is not <0xXX>"
        case .unsupportedSpacePrefix:
            "add_space_prefix true is not supported"
        }
    }
}
