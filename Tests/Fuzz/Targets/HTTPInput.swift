// Fuzz target: what a client sends `recycle serve`. The input is fed to the HTTP parser
// whole and in two pieces (a request that arrives in parts must parse the same), and the body
// of every request parsed goes through the chat and completion request validation. Nothing
// may crash; a parsed request must not claim more bytes than it was given. Built together
// with Sources/RecycleServer (see Tests/Fuzz/build), so the validation is reached directly.
import RecycleTools

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var parser = HTTPParser()
    parser.maxHeaderBytes = 4096
    parser.maxBodyBytes = 16384
    let whole = try? parser.parse(bytes[...])
    if let whole { precondition(whole.consumed > 0 && whole.consumed <= bytes.count) }
    // Split at the midpoint: the first half alone is either incomplete or a complete request
    // that the whole input parses the same way.
    let half = bytes.count / 2
    if let first = try? parser.parse(bytes[..<half]), let whole {
        precondition(first.consumed == whole.consumed && first.request.body == whole.request.body)
    }
    // Every parsed body, and the raw input as a body, through both validations.
    let defaults = CompletionRequest.Defaults(temperature: 0, topP: 0.95, maxTokensLimit: 4096)
    for body in [bytes] + (whole.map { [$0.request.body] } ?? []) {
        for chat in [true, false] {
            if let request = try? CompletionRequest(body: body, chat: chat, defaults: defaults) {
                precondition(request.maxTokens.map { (1...4096).contains($0) } ?? true)
                precondition(request.stops.count <= 4)
                _ = request.sampler
            }
        }
    }
    return 0
}
