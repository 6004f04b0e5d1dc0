// Fuzz target: Gemma 3's SentencePiece tokenizer (262,144 tokens, byte fallback) on arbitrary bytes.
// - encode, then decode, gives the text back (the input is made valid UTF-8 first, as every Swift
//   String is), with or without special tokens parsed: every byte has a <0xXX> token, control and
//   user-defined tokens decode to their text; only a typed "▁" comes back as the space it stands for;
// - prompt pieces around the text, and decoding arbitrary ids, never trap.
// The tokenizer comes from $RECYCLE_GEMMA_MODEL or models/gemma-3-270m-Q4_K_M.rcyl
// (weights-tools/fetch-model gemma3-270m).
import Foundation
import RecycleModel

let tokenizer: Tokenizer = {
    let path = ProcessInfo.processInfo.environment["RECYCLE_GEMMA_MODEL"] ?? "models/gemma-3-270m-Q4_K_M.rcyl"
    do {
        return try Tokenizer(spec: WeightsFile(path: path).metadata.tokenizer)
    } catch {
        fatalError("fuzz SentencePieceTokenizer: cannot load the tokenizer of \(path): \(error)")
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let expected = String(String.UnicodeScalarView(text.unicodeScalars.map { $0 == "\u{2581}" ? " " : $0 }))
    for parse in [false, true] {
        let ids = tokenizer.encode(text, parseSpecialTokens: parse)
        guard ids.first == tokenizer.bosID else { fatalError("no BOS: \(ids.prefix(4))") }
        let back = tokenizer.decode(Array(ids.dropFirst()))
        if back != expected {
            fatalError("round trip (parse \(parse)) changed the text: \(Array(text.utf8)) -> \(ids) -> \(Array(back.utf8))")
        }
    }
    _ = tokenizer.encode(ChatTemplate.gemma3.pieces([ChatMessage(role: "system", content: text), ChatMessage(role: "user", content: text)],
                                                    defaultSystemPrompt: nil, addGenerationPrompt: true))
    // The same bytes as token ids (any Int32 within the vocabulary), decoded as a stream too.
    let vocabulary = Int32(tokenizer.vocabularySize)
    var raw: [Int32] = []
    var i = 0
    while i + 4 <= size {
        let v = Int32(data[i]) | Int32(data[i + 1]) << 8 | Int32(data[i + 2]) << 16 | Int32(data[i + 3] & 0x7f) << 24
        raw.append(v % vocabulary)
        i += 4
    }
    var stream = StreamingDecoder(tokenizer: tokenizer)
    let streamed = raw.map { stream.append($0) }.joined() + stream.finish()
    if streamed != tokenizer.decode(raw) { fatalError("streaming decode differs from decode for \(raw)") }
    return 0
}
