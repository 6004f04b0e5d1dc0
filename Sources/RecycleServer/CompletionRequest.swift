#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RecycleDecoding
import RecycleModel
import RecycleTools

/// What a client asks of `/v1/chat/completions` or `/v1/completions`, checked field by
/// field: a wrong type, an unknown role or a value out of range is a 400 naming the field,
/// never a crash and never a silent default. Unknown fields are ignored, as OpenAI's own
/// clients send some this server has no use for.
struct CompletionRequest {
    enum Prompt {
        /// Chat messages, rendered with the model's template; their contents are plain text.
        case chat([ChatMessage])
        /// A raw prompt (`/v1/completions`), plain text too.
        case text(String)
    }

    var prompt: Prompt
    var maxTokens: Int?
    var temperature: Float
    var topP: Float
    var topK: Int
    var minP: Float
    var seed: UInt64?
    var stops: [String]
    var stream: Bool

    /// Parses a request body for `chat` (messages) or a raw completion (prompt).
    init(body: [UInt8], chat: Bool, defaults: Defaults) throws(APIError) {
        guard String(validating: body, as: UTF8.self) != nil else { throw APIError(400, "the request body is not valid UTF-8") }
        guard let json = try? JSONDecoder().decode(JSON.self, from: Data(body)) else {
            throw APIError(400, "the request body is not valid JSON")
        }
        guard case .object = json else { throw APIError(400, "the request body must be a JSON object") }
        if chat {
            guard case let .array(items)? = json["messages"], !items.isEmpty else {
                throw APIError(400, "messages must be a non-empty array", param: "messages")
            }
            prompt = .chat(try items.enumerated().map { i, item throws(APIError) in try Self.message(item, at: i) })
        } else {
            switch json["prompt"] {
            case let .string(text)?: prompt = .text(text)
            case let .array(items)? where items.count == 1:
                guard case let .string(text) = items[0] else { throw APIError(400, "prompt must be a string", param: "prompt") }
                prompt = .text(text)
            default: throw APIError(400, "prompt must be a string (or a list of one string)", param: "prompt")
            }
        }
        maxTokens = try Self.integer(json["max_completion_tokens"] ?? json["max_tokens"], "max_tokens", in: 1...defaults.maxTokensLimit)
        temperature = try Self.number(json["temperature"], "temperature", in: 0...2) ?? defaults.temperature
        topP = try Self.number(json["top_p"], "top_p", in: 0...1) ?? defaults.topP
        topK = try Self.integer(json["top_k"], "top_k", in: 0...(1 << 30)) ?? 0
        minP = try Self.number(json["min_p"], "min_p", in: 0...1) ?? 0
        if let n = try Self.integer(json["n"], "n", in: 1...1_000_000), n != 1 { throw APIError(400, "n must be 1", param: "n") }
        seed = try Self.integer(json["seed"], "seed", in: Int.min...Int.max).map { UInt64(bitPattern: Int64($0)) }
        switch json["stop"] {
        case nil, .null?: stops = []
        case let .string(s)?: stops = [s]
        case let .array(items)? where items.count <= 4:
            stops = try items.map { item throws(APIError) in
                guard case let .string(s) = item else { throw APIError(400, "stop must be a string or a list of strings", param: "stop") }
                return s
            }
        default: throw APIError(400, "stop must be a string or a list of up to 4 strings", param: "stop")
        }
        switch json["stream"] {
        case nil, .null?: stream = false
        case let .bool(b)?: stream = b
        default: throw APIError(400, "stream must be true or false", param: "stream")
        }
    }

    /// What a request leaves out: the server's options.
    struct Defaults {
        var temperature: Float
        var topP: Float
        var maxTokensLimit: Int
    }

    /// The sampler: greedy at temperature 0, else sampling with the request's seed (or one
    /// from the clock).
    var sampler: Sampler {
        guard temperature > 0 else { return .greedy }
        return .random(temperature: temperature, topP: topP, seed: seed ?? UInt64(Date().timeIntervalSince1970 * 1000),
                       topK: topK, minP: minP)
    }

    static let roles: Set<String> = ["system", "developer", "user", "assistant"]

    private static func message(_ item: JSON, at i: Int) throws(APIError) -> ChatMessage {
        guard case let .string(role)? = item["role"] else {
            throw APIError(400, "messages[\(i)].role must be a string", param: "messages[\(i)].role")
        }
        guard roles.contains(role) else {
            throw APIError(400, "messages[\(i)].role: unknown role \"\(role)\" (system, developer, user or assistant)",
                           param: "messages[\(i)].role")
        }
        let content: String
        switch item["content"] {
        case let .string(text)?: content = text
        case let .array(parts)?:
            // OpenAI's content parts: only text ones can be read by a text model.
            content = try parts.map { part throws(APIError) in
                guard case let .string(kind)? = part["type"], kind == "text", case let .string(text)? = part["text"] else {
                    throw APIError(400, "messages[\(i)].content: only text parts are supported", param: "messages[\(i)].content")
                }
                return text
            }.joined()
        default: throw APIError(400, "messages[\(i)].content must be a string or a list of text parts", param: "messages[\(i)].content")
        }
        return ChatMessage(role: role == "developer" ? "system" : role, content: content)
    }

    private static func integer(_ value: JSON?, _ name: String, in range: ClosedRange<Int>) throws(APIError) -> Int? {
        switch value {
        case nil, .null?: return nil
        case let .number(d)?:
            guard d == d.rounded(), let i = Int(exactly: d), range.contains(i) else {
                throw APIError(400, "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound)", param: name)
            }
            return i
        default: throw APIError(400, "\(name) must be an integer", param: name)
        }
    }

    private static func number(_ value: JSON?, _ name: String, in range: ClosedRange<Float>) throws(APIError) -> Float? {
        switch value {
        case nil, .null?: return nil
        case let .number(d)?:
            guard d.isFinite, range.contains(Float(d)) else {
                throw APIError(400, "\(name) must be a number in \(range.lowerBound)...\(range.upperBound)", param: name)
            }
            return Float(d)
        default: throw APIError(400, "\(name) must be a number", param: name)
        }
    }
}
