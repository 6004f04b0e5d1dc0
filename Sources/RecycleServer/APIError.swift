#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An error answered in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`,
/// which client libraries turn into their own exceptions.
struct APIError: Error {
    let status: Int
    let message: String
    let type: String
    let param: String?

    init(_ status: Int, _ message: String, param: String? = nil) {
        self.status = status
        self.message = message
        self.param = param
        switch status {
        case 401: type = "authentication_error"
        case 404: type = "not_found_error"
        case 503: type = "server_busy"
        case 500...: type = "server_error"
        default: type = "invalid_request_error"
        }
    }

    static let busy = APIError(503, "the server is busy: too many requests are waiting; retry shortly")

    private struct Body: Encodable {
        struct Inner: Encodable {
            let message: String
            let type: String
            let param: String?
            let code: String?

            func encode(to encoder: Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(message, forKey: .message)
                try c.encode(type, forKey: .type)
                try c.encode(param, forKey: .param)
                try c.encode(code, forKey: .code)
            }

            enum CodingKeys: String, CodingKey { case message, type, param, code }
        }

        let error: Inner
    }

    var body: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? [UInt8](encoder.encode(Body(error: .init(message: message, type: type, param: param, code: nil))))) ?? []
    }

    var response: HTTPResponse {
        var r = HTTPResponse.json(status, body)
        if status == 503 { r.headers.append(("Retry-After", "1")) }
        if status == 401 { r.headers.append(("WWW-Authenticate", "Bearer")) }
        return r
    }
}
