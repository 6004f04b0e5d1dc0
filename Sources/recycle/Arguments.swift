/// A hand-written command-line parser: flags with values (`-n 64`, `--max-tokens=64`),
/// switches (`--json`) and positional arguments, with an error for anything unknown.
struct Arguments {
    enum Kind { case value, flag }

    struct Option {
        let names: [String]
        let kind: Kind
    }

    private(set) var values: [String: String] = [:]
    private(set) var flags: Set<String> = []
    private(set) var positionals: [String] = []

    /// Parses `args` against `options`; each option is stored under its first name.
    init(_ args: ArraySlice<String>, options: [Option]) throws(CLIError) {
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
                throw .usage("unknown option \(name)")
            }
            let key = option.names[0]
            switch option.kind {
            case .flag:
                if inline != nil { throw .usage("\(name) takes no value") }
                flags.insert(key)
            case .value:
                guard let value = inline ?? rest.popFirst() else { throw .usage("\(name) needs a value") }
                values[key] = value
            }
        }
    }

    func has(_ flag: String) -> Bool { flags.contains(flag) }

    func string(_ key: String) -> String? { values[key] }

    func int(_ key: String, default fallback: Int, in range: ClosedRange<Int>) throws(CLIError) -> Int {
        guard let text = values[key] else { return fallback }
        guard let v = Int(text), range.contains(v) else {
            throw .usage("\(key) must be an integer in \(range.lowerBound)...\(range.upperBound), got \"\(text)\"")
        }
        return v
    }

    func float(_ key: String, default fallback: Float, in range: ClosedRange<Float>) throws(CLIError) -> Float {
        guard let text = values[key] else { return fallback }
        guard let v = Float(text), v.isFinite, range.contains(v) else {
            throw .usage("\(key) must be a number in \(range.lowerBound)...\(range.upperBound), got \"\(text)\"")
        }
        return v
    }
}

/// An error that ends the program with a message and a non-zero exit status.
enum CLIError: Error, CustomStringConvertible {
    /// Bad command line: the message is followed by a hint to run `--help`.
    case usage(String)
    /// Anything else (missing model, corrupt file, prompt too long...).
    case failure(String)

    var description: String {
        switch self {
        case let .usage(m): "\(m)\nRun 'recycle --help' for usage."
        case let .failure(m): m
        }
    }
}
