import RecycleModel

/// How a trace, a picture or a report shows one token: its text when its bytes are whole
/// UTF-8, else each byte as `<0xE2>` (byte-level BPE splits a character over several tokens,
/// and a lone piece of it has no text of its own).
public func tokenText(_ id: Int32, _ tokenizer: Tokenizer) -> String {
    let bytes = tokenizer.bytes(of: id)
    if let text = String(validating: bytes, as: UTF8.self) { return text }
    return bytes.map { "<0x" + hex2($0) + ">" }.joined()
}

private func hex2(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
}
