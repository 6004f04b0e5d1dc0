// A tiny SVG writer. Pictures are built as element values rather than pasted strings, so that
// escaping happens in exactly one place: token texts can be `<`, `&`, quotes or control
// characters, and one slip makes the whole file unreadable to an XML parser.

/// An element of an SVG picture (or of any XML): its attributes, text and children.
public struct SVGElement: Sendable {
    /// The element's tag name ("svg", "g", "text").
    public var name: String
    /// Attributes as (name, value) pairs, in order; values are escaped when written.
    public var attributes: [(String, String)]
    /// Text content, escaped when written, before the children; nil for none.
    public var text: String?
    /// Child elements, in order.
    public var children: [SVGElement]

    /// An element `name` with the given attributes, text and children.
    public init(_ name: String, _ attributes: [(String, String)] = [], text: String? = nil, children: [SVGElement] = []) {
        self.name = name
        self.attributes = attributes
        self.text = text
        self.children = children
    }

    /// An `svg` root element `width` by `height` with its namespace, so that it stands alone
    /// as a file and also works inline in HTML. Spaces are kept as they are (`xml:space`),
    /// or a token of two spaces would show as one.
    public static func svg(width: Double, height: Double, children: [SVGElement]) -> SVGElement {
        SVGElement("svg", [("xmlns", "http://www.w3.org/2000/svg"), ("width", svgNumber(width)), ("height", svgNumber(height)),
                           ("viewBox", "0 0 \(svgNumber(width)) \(svgNumber(height))"), ("xml:space", "preserve")],
                   children: children)
    }

    /// The element as markup, every text and attribute escaped.
    public var markup: String {
        var out = ""
        write(into: &out)
        return out
    }

    /// A standalone .svg file: the XML declaration, then this element.
    public var document: String { "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + markup + "\n" }

    private func write(into out: inout String) {
        out += "<" + name
        for (key, value) in attributes { out += " " + key + "=\"" + markupEscaped(value, attribute: true) + "\"" }
        guard text != nil || !children.isEmpty else {
            out += "/>"
            return
        }
        out += ">"
        if let text { out += markupEscaped(text) }
        for child in children { child.write(into: &out) }
        out += "</" + name + ">"
    }
}

/// `text` safe in XML and HTML, as text or as a quoted attribute value: `& < > " '` as
/// entities, and characters XML 1.0 does not allow (control characters other than tab,
/// newline and carriage return; U+FFFE, U+FFFF) as U+FFFD. In an attribute, tabs and line
/// breaks become character references, which a parser would otherwise turn into spaces.
public func markupEscaped(_ text: String, attribute: Bool = false) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        case "\t" where attribute: out += "&#9;"
        case "\n" where attribute: out += "&#10;"
        case "\r": out += "&#13;"
        case "\t", "\n": out.unicodeScalars.append(scalar)
        case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF: out += "\u{FFFD}"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}

/// A coordinate for SVG: one decimal at most ("12", "12.5"); a non-finite value, which
/// would make the attribute invalid, as 0.
public func svgNumber(_ value: Double) -> String {
    guard value.isFinite else { return "0" }
    let text = fixed(value, 1)
    if text.hasSuffix(".0") { return text == "-0.0" ? "0" : String(text.dropLast(2)) }
    return text
}
