/// Reads HTTP/1.1 requests from the bytes a connection has received so far, strictly and
/// within limits: a client must not be able to make the server buffer without bound, nor
/// smuggle a second request past it (a body length given two ways is refused).
///
/// `parse` is called again as bytes arrive; it returns nil until a whole request is there.
/// Headers are limited in size (431), bodies too (413); anything malformed is a 400, and
/// transfer codings other than `chunked` a 501.
public struct HTTPParser: Sendable {
    /// Most bytes of request line and headers (16 KiB by default); more is a 431.
    public var maxHeaderBytes = 16 << 10
    /// Most bytes of body, after de-chunking (1 MiB by default); more is a 413.
    public var maxBodyBytes = 1 << 20

    /// A parser with the default limits.
    public init() {}

    /// The first complete request in `bytes` and how many bytes it took, or nil if more are
    /// needed.
    public func parse(_ bytes: ArraySlice<UInt8>) throws(HTTPError) -> (request: HTTPRequest, consumed: Int)? {
        guard let headerEnd = find([13, 10, 13, 10], in: bytes) else {
            if bytes.count > maxHeaderBytes { throw HTTPError(431, "the request's headers are over \(maxHeaderBytes) bytes") }
            return nil
        }
        guard headerEnd - bytes.startIndex <= maxHeaderBytes else {
            throw HTTPError(431, "the request's headers are over \(maxHeaderBytes) bytes")
        }
        let lines = split(bytes[bytes.startIndex..<headerEnd])
        var request = try requestLine(lines[0])
        for line in lines.dropFirst() { request.headers.append(try header(line)) }
        let bodyStart = headerEnd + 4
        let lengths = request.headers.filter { $0.name == "content-length" }.map(\.value)
        let codings = request.headers.filter { $0.name == "transfer-encoding" }.map(\.value)
        if !codings.isEmpty {
            guard lengths.isEmpty else { throw HTTPError(400, "a request cannot have both Content-Length and Transfer-Encoding") }
            guard codings.count == 1, codings[0].lowercased() == "chunked" else {
                throw HTTPError(501, "only the chunked transfer coding is supported")
            }
            guard let (body, end) = try chunkedBody(bytes[bodyStart...]) else { return nil }
            request.body = body
            return (request, end - bytes.startIndex)
        }
        var length = 0
        if let first = lengths.first {
            guard lengths.allSatisfy({ $0 == first }), !first.isEmpty, first.count <= 12,
                  first.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let value = Int(first) else {
                throw HTTPError(400, "bad Content-Length")
            }
            length = value
        }
        guard length <= maxBodyBytes else { throw HTTPError(413, "the request body is over \(maxBodyBytes) bytes") }
        guard bytes.endIndex - bodyStart >= length else { return nil }
        request.body = Array(bytes[bodyStart..<(bodyStart + length)])
        return (request, bodyStart + length - bytes.startIndex)
    }

    private func requestLine(_ line: ArraySlice<UInt8>) throws(HTTPError) -> HTTPRequest {
        let parts = line.split(separator: 32, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy({ $0 >= 65 && $0 <= 90 }),
              let first = parts[1].first, first == UInt8(ascii: "/") || parts[1].elementsEqual("*".utf8),
              parts[1].allSatisfy({ $0 > 32 && $0 < 127 }) else {
            throw HTTPError(400, "malformed request line")
        }
        let version = String(decoding: parts[2], as: UTF8.self)
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else { throw HTTPError(505, "only HTTP/1.0 and HTTP/1.1 are supported") }
        return HTTPRequest(method: String(decoding: parts[0], as: UTF8.self), target: String(decoding: parts[1], as: UTF8.self),
                           version: version, headers: [], body: [])
    }

    private func header(_ line: ArraySlice<UInt8>) throws(HTTPError) -> (name: String, value: String) {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
              line[line.startIndex..<colon].allSatisfy(isTokenByte) else {
            throw HTTPError(400, "malformed header line")
        }
        let value = line[(colon + 1)...]
        guard value.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else { throw HTTPError(400, "control characters in a header") }
        let name = String(decoding: line[line.startIndex..<colon], as: UTF8.self).lowercased()
        return (name, String(String.UnicodeScalarView(value.map { Unicode.Scalar($0) }))[...].trimmingSpaces.description)
    }

    /// A chunked body starting at `bytes.startIndex`: the data and the index after its end,
    /// or nil if it is not all there yet.
    private func chunkedBody(_ bytes: ArraySlice<UInt8>) throws(HTTPError) -> ([UInt8], Int)? {
        var body: [UInt8] = [], at = bytes.startIndex
        while true {
            guard let lineEnd = find([13, 10], in: bytes[at...]) else {
                if bytes.endIndex - at > 1024 { throw HTTPError(400, "malformed chunk size") }
                return nil
            }
            let sizeText = bytes[at..<lineEnd].prefix { $0 != UInt8(ascii: ";") }
            guard !sizeText.isEmpty, sizeText.count <= 8, let size = Int(String(decoding: sizeText, as: UTF8.self), radix: 16),
                  size >= 0 else {
                throw HTTPError(400, "malformed chunk size")
            }
            at = lineEnd + 2
            if size == 0 {
                // Trailers, ignored, up to an empty line.
                while true {
                    guard let end = find([13, 10], in: bytes[at...]) else { return nil }
                    if end == at { return (body, end + 2) }
                    at = end + 2
                }
            }
            guard body.count + size <= maxBodyBytes else { throw HTTPError(413, "the request body is over \(maxBodyBytes) bytes") }
            guard bytes.endIndex - at >= size + 2 else { return nil }
            body += bytes[at..<(at + size)]
            guard bytes[at + size] == 13, bytes[at + size + 1] == 10 else { throw HTTPError(400, "malformed chunk") }
            at += size + 2
        }
    }

    private func split(_ head: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = [], start = head.startIndex
        while let end = find([13, 10], in: head[start...]) {
            lines.append(head[start..<end])
            start = end + 2
        }
        lines.append(head[start...])
        return lines
    }

    private func find(_ needle: [UInt8], in bytes: ArraySlice<UInt8>) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        var i = bytes.startIndex
        while i <= bytes.endIndex - needle.count {
            if bytes[i] == needle[0] && bytes[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    private func isTokenByte(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || "!#$%&'*+-.^_`|~".utf8.contains(b)
    }
}
