#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A tree file (`--tree FILE`): a JSON list of rank paths such as `[[0], [1], [0, 0]]`, or an
/// object whose "nodes" holds that list. Every rank must be written as a JSON integer.
enum TreeFile {
    static let expected = "expected a JSON list of rank paths such as [[0], [1], [0, 0]]"

    static func paths(json bytes: [UInt8], source: String) throws(TreeTemplate.Error) -> [[Int]] {
        // JSONDecoder reads 1.0 and 1e0 as the integer 1; a rank written so is more likely a
        // slip than a choice, so the text's numbers are checked first.
        if let number = firstNonInteger(in: bytes) {
            throw .unreadable("\(source): rank \(number) is not an integer; \(expected)")
        }
        let data = Data(bytes)
        let nodes: [[Rank]]
        if let list = try? JSONDecoder().decode([[Rank]].self, from: data) {
            nodes = list
        } else if let object = try? JSONDecoder().decode(Object.self, from: data) {
            nodes = object.nodes
        } else {
            throw .unreadable("\(source): \(expected)")
        }
        return try nodes.map { node throws(TreeTemplate.Error) in
            try node.map { rank throws(TreeTemplate.Error) in
                guard case let .integer(value) = rank else {
                    let written = node.map(\.description).joined(separator: ", ")
                    throw .unreadable("\(source): rank \(rank) in node [\(written)] is not an integer; \(expected)")
                }
                return value
            }
        }
    }

    private struct Object: Decodable { let nodes: [[Rank]] }

    /// A JSON scalar where a rank belongs: an integer, or what was written instead.
    private enum Rank: Decodable, CustomStringConvertible {
        case integer(Int)
        case other(String)

        init(from decoder: any Decoder) throws {
            let value = try decoder.singleValueContainer()
            if let flag = try? value.decode(Bool.self) {
                self = .other(String(flag))
            } else if let integer = try? value.decode(Int.self) {
                self = .integer(integer)
            } else if let text = try? value.decode(String.self) {
                self = .other("\"\(text)\"")
            } else {
                self = .other(String(try value.decode(Double.self)))
            }
        }

        var description: String {
            switch self {
            case let .integer(value): String(value)
            case let .other(written): written
            }
        }
    }

    /// The first number in the JSON text, outside strings, that has a fraction or an exponent.
    static func firstNonInteger(in bytes: [UInt8]) -> String? {
        var inString = false, escaped = false
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true }
                else if byte == UInt8(ascii: "\"") { inString = false }
                i += 1
            } else if byte == UInt8(ascii: "\"") {
                inString = true
                i += 1
            } else if byte == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                let start = i
                while i < bytes.count, "0123456789+-.eE".utf8.contains(bytes[i]) { i += 1 }
                let number = bytes[start..<i]
                if number.contains(where: { ".eE".utf8.contains($0) }) { return String(decoding: number, as: UTF8.self) }
            } else {
                i += 1
            }
        }
        return nil
    }
}
