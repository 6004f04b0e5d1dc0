// How the trace renderers show a token's text. Tokens are often whitespace, newlines or
// control characters, which print as nothing or break a picture's layout, so every renderer
// makes them visible the same way; the markup escaping of each output format comes on top.

/// `text` in double quotes with everything a reader could not see or would misread escaped:
/// `"\n"`, `"\t"`, `"\u{1}"`, a no-break space as `"\u{a0}"`; quotes and backslashes as in
/// a string literal. A byte fallback such as `<0xE2>` stays as it is.
public func quotedToken(_ text: String) -> String {
    "\"" + visibleText(text, keepingLayout: false) + "\""
}

/// `text` with invisible characters escaped as in `quotedToken`. With `keepingLayout`, for
/// running text, newlines and tabs stay as they are and quotes and backslashes are not
/// escaped, so the text reads as it would print.
public func visibleText(_ text: String, keepingLayout: Bool) -> String {
    var out = ""
    for character in text {
        // An emoji sequence (a family, a flag, a skin tone) holds joiners and selectors that
        // are invisible on their own but part of the picture.
        if character.unicodeScalars.count > 1, let first = character.unicodeScalars.first,
           first.value > 0x7F, first.properties.isEmoji {
            out.append(character)
            continue
        }
        for scalar in character.unicodeScalars {
            switch scalar {
            case "\n" where keepingLayout, "\t" where keepingLayout: out.unicodeScalars.append(scalar)
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\"" where !keepingLayout: out += "\\\""
            case "\\" where !keepingLayout: out += "\\\\"
            case _ where isInvisible(scalar): out += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
    }
    return out
}

private func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.properties.generalCategory {
    case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned: true
    case .spaceSeparator: scalar != " "
    default: false
    }
}

/// The columns `text` takes in a monospace terminal or font: two for wide characters (CJK,
/// emoji), one for the rest. Layouts use it to size boxes and align columns.
public func displayWidth(_ text: String) -> Int {
    text.reduce(0) { $0 + (isWide($1) ? 2 : 1) }
}

private func isWide(_ character: Character) -> Bool {
    guard let scalar = character.unicodeScalars.first else { return false }
    if scalar.properties.isEmojiPresentation { return true }
    switch scalar.value {
    case 0x1100...0x115F, 0x2E80...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F,
         0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x20000...0x3FFFD: return true
    default: return false
    }
}

/// `text` cut to `width` display columns, with "…" standing for what was cut.
func truncated(_ text: String, width: Int) -> String {
    guard displayWidth(text) > width else { return text }
    var out = "", used = 0
    for character in text {
        let w = isWide(character) ? 2 : 1
        if used + w > width - 1 { break }
        out.append(character)
        used += w
    }
    return out + "…"
}
