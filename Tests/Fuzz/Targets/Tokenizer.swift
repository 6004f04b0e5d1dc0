// Fuzz target: the default model's tokenizer (byte-level BPE) on arbitrary bytes.
// - encode without special tokens, then decode, gives the text back (the input is made valid
//   UTF-8 first, as every Swift String is), less the bytes the vocabulary has no byte token
//   for: those are dropped, as Hugging Face tokenizers do (Tokenizer.encodeOrdinaryText);
// - encode with special tokens, prompt pieces, and decoding of arbitrary ids never trap.
// The tokenizer table comes from $RECYCLE_MODEL or models/SmolLM2-135M-Instruct-Q4_1.rcyl.
import RecycleModel

let tokenizer: Tokenizer = {
    do {
        let file = try WeightsFile(path: try DefaultModel.locate())
        return try Tokenizer(spec: file.metadata.tokenizer)
    } catch {
        fatalError("fuzz Tokenizer: cannot load the default model's tokenizer: \(error)")
    }
}()

/// The bytes that have a single-byte token (the others are dropped by encode).
let byteHasToken: [Bool] = {
    var has = [Bool](repeating: false, count: 256)
    for id in 0..<Int32(tokenizer.vocabularySize) {
        let b = tokenizer.bytes(of: id)
        if b.count == 1 { has[Int(b[0])] = true }
    }
    return has
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let text = String(decoding: bytes, as: UTF8.self)
    var ids = tokenizer.encode(text, parseSpecialTokens: false)
    if tokenizer.addsBOS, ids.first == tokenizer.bosID { ids.removeFirst() }
    let back = tokenizer.decode(ids)
    // Dropping a byte can break a character: the remaining bytes decode with U+FFFD.
    let expected = String(decoding: text.utf8.filter { byteHasToken[Int($0)] }, as: UTF8.self)
    if back != expected {
        fatalError("round trip changed the text: \(Array(text.utf8)) -> \(ids) -> \(Array(back.utf8))")
    }
    _ = tokenizer.encode(text, parseSpecialTokens: true)
    _ = tokenizer.encode([.markup("<|im_start|>user\n"), .content(text), .markup("<|im_end|>\n")])
    // The same bytes as token ids (any Int32 within the vocabulary).
    let vocabulary = Int32(tokenizer.vocabularySize)
    var raw: [Int32] = []
    var i = 0
    while i + 4 <= size {
        let v = Int32(data[i]) | Int32(data[i + 1]) << 8 | Int32(data[i + 2]) << 16 | Int32(data[i + 3] & 0x7f) << 24
        raw.append(v % vocabulary)
        i += 4
    }
    _ = tokenizer.decode(raw)
    for id in raw.prefix(8) { _ = tokenizer.bytes(of: id) }
    return 0
}
