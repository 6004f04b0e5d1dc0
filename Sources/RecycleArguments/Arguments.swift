/// A hand-written command-line parser shared by `recycle` and `recycle-bench`: options
/// with values (`-n 64`, `--max-tokens=64`), switches (`--json`) and positional arguments,
/// with an error naming anything unknown or malformed.
public struct Arguments {
    public enum Kind: Sendable { case value, flag }

    public struct Option: Sendable {
        public let names: [String]
        public let kind: Kind

        public init(names: [String], kind: Kind) {
            self.names = names
            self.kind = kind
        }
    }

    /// Every value given for each option, in order (an option may be repeated).
    private var values: [String: [String]] = [:]
    private var flags: Set<String> = []
    public private(set) var positionals: [String] = []

    /// Parses `args` against `options`; each option is stored under its first name.
    public init(_ args: ArraySlice<String>, options: [Option]) throws(UsageError) {
        var rest = args[...]
        while let arg = rest.popFirst() {
            if arg == "--" {
                positionals += rest
                break
            }
            guard arg.hasPrefix("-"), arg != "-" else {
                positionals.append(arg)
                continue
            }
            var name = arg, inline: String?
            if arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") {
                name = String(arg[..<eq])
                inline = String(arg[arg.index(after: eq)...])
            }
            guard let option = options.first(where: { $0.names.contains(name) }) else {
                throw UsageError("unknown option \(name)")
            }
            let key = option.names[0]
            switch option.kind {
            case .flag:
                if inline != nil { throw UsageError("\(name) takes no value") }
                flags.insert(key)
            case .value:
                guard let value = inline ?? rest.popFirst() else { throw UsageError("\(name) needs a value") }
                values[key, default: []].append(value)
            }
        }
    }

    public func has(_ flag: String) -> Bool { flags.contains(flag) }

    /// The option's value; the last one if it was given more than once.
    public func string(_ key: String) -> String? { values[key]?.last }

    /// Every value of a repeatable option (`--stop A --stop B`), in order.
    public func strings(_ key: String) -> [String] { values[key] ?? [] }

    public func int(_ key: String, default fallback: Int, in range: ClosedRange<Int>) throws(UsageError) -> Int {
        guard let text = string(key) else { return fallback }
        guard let v = Int(text), range.contains(v) else {
            throw UsageError("\(key) must be an integer in \(range.lowerBound)...\(range.upperBound), got \"\(text)\"")
        }
        return v
    }

    public func float(_ key: String, default fallback: Float, in range: ClosedRange<Float>) throws(UsageError) -> Float {
        guard let text = string(key) else { return fallback }
        guard let v = Float(text), v.isFinite, range.contains(v) else {
            throw UsageError("\(key) must be a number in \(range.lowerBound)...\(range.upperBound), got \"\(text)\"")
        }
        return v
    }

    /// A comma-separated list of integers, e.g. `--n 1,2,4`.
    public func ints(_ key: String, default fallback: [Int], in range: ClosedRange<Int>) throws(UsageError) -> [Int] {
        guard let text = string(key) else { return fallback }
        var list: [Int] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let v = Int(item), range.contains(v) else {
                throw UsageError("\(key) must be a comma-separated list of integers in \(range.lowerBound)...\(range.upperBound), got \"\(text)\"")
            }
            list.append(v)
        }
        return list
    }
}

/// A bad command line: the program prints the message with a pointer to `--help` and
/// exits with status 2.
public struct UsageError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}

/// Anything else that ends a program: a missing model, a corrupt file, a prompt too long.
/// The program prints the message and exits with status 1.
public struct Failure: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}
