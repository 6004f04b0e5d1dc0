import Glibc

// Number formatting without Foundation's `String(format:)`, which needs the full Foundation
// (and with it 34 MB of ICU data in a static binary). Both give printf's digits.

/// `value` with `places` digits after the point, as printf's "%.*f" writes it.
public func fixed(_ value: Double, _ places: Int) -> String {
    var buffer = [CChar](repeating: 0, count: 64)
    let count = withVaList([Int32(places), value]) { vsnprintf(&buffer, buffer.count, "%.*f", $0) }
    if count >= buffer.count {
        buffer = [CChar](repeating: 0, count: Int(count) + 1)
        _ = withVaList([Int32(places), value]) { vsnprintf(&buffer, buffer.count, "%.*f", $0) }
    }
    return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

/// Eight lowercase hex digits, as printf's "%08x" writes them.
func hex8(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 8 - digits.count) + digits
}

/// `text` cut or padded with spaces to `width` characters, as Foundation's `padding(toLength:)`.
public func padded(_ text: String, _ width: Int) -> String {
    let cut = text.prefix(width)
    return cut + String(repeating: " ", count: width - cut.count)
}
