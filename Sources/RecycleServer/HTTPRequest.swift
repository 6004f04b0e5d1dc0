/// An HTTP/1.1 request as the server reads it: method, target, headers and the whole body
/// (de-chunked). Header names are lowercased; values are the bytes as Latin-1, as HTTP has it.
public struct HTTPRequest: Sendable {
    /// The method, as sent: uppercase letters ("GET", "POST").
    public var method: String
    /// The request target as sent: an absolute path with any query string, or "*".
    public var target: String
    /// "HTTP/1.1" or "HTTP/1.0".
    public var version: String
    /// The header fields in the order received; names lowercased, values trimmed of surrounding
    /// spaces and tabs.
    public var headers: [(name: String, value: String)]
    /// The whole body (de-chunked); empty when there is none.
    public var body: [UInt8]

    /// The target without its query string.
    public var path: Substring { target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0] }

    /// The value of header `name` (lowercase), if present.
    public func header(_ name: String) -> String? { headers.first { $0.name == name }?.value }

    /// Whether the connection stays open after the response: HTTP/1.1 unless the client says
    /// `Connection: close`; HTTP/1.0 only if it asks for `keep-alive`.
    public var keepAlive: Bool {
        let tokens = (header("connection") ?? "").lowercased().split(separator: ",").map { $0.trimmingSpaces }
        return version == "HTTP/1.1" ? !tokens.contains("close") : tokens.contains("keep-alive")
    }
}

/// A request the server refuses before it reaches a handler, with the status to answer.
public struct HTTPError: Error, Sendable {
    /// The HTTP status to answer with (the parser's: 400, 413, 431, 501, 505).
    public let status: Int
    /// What was wrong, for the response body.
    public let message: String

    /// A refusal with `status` and `message`.
    public init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return s
    }
}
