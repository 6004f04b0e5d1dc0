import RecycleModel

/// The benchmarks' command line: `--name value`, `--name=value` and switches; anything
/// else is an error naming the culprit.
struct Options {
    /// Accepted options: names (first is canonical) and whether each takes a value.
    typealias Spec = [(names: [String], takesValue: Bool)]

    private var values: [String: String] = [:]
    private var switches: Set<String> = []

    init(_ args: ArraySlice<String>, _ spec: Spec) throws(BenchError) {
        var rest = args
        while let arg = rest.popFirst() {
            let parts = arg.split(separator: "=", maxSplits: 1).map(String.init)
            let name = arg.hasPrefix("--") ? parts[0] : arg
            guard let option = spec.first(where: { $0.names.contains(name) }) else {
                throw .usage(arg.hasPrefix("-") ? "unknown option \(name)" : "unexpected argument \"\(arg)\"")
            }
            let key = option.names[0]
            if option.takesValue {
                guard let value = (parts.count == 2 && arg.hasPrefix("--")) ? parts[1] : rest.popFirst() else {
                    throw .usage("\(name) needs a value")
                }
                values[key] = value
            } else {
                if parts.count == 2 && arg.hasPrefix("--") { throw .usage("\(name) takes no value") }
                switches.insert(key)
            }
        }
    }

    func has(_ key: String) -> Bool { switches.contains(key) }

    func string(_ key: String) -> String? { values[key] }

    func int(_ key: String, default fallback: Int, in range: ClosedRange<Int>) throws(BenchError) -> Int {
        guard let text = values[key] else { return fallback }
        guard let v = Int(text), range.contains(v) else {
            throw .usage("\(key) must be an integer in \(range.lowerBound)...\(range.upperBound), got \"\(text)\"")
        }
        return v
    }

    /// A comma-separated list of integers, e.g. `--n 1,2,4`.
    func ints(_ key: String, default fallback: [Int], in range: ClosedRange<Int>) throws(BenchError) -> [Int] {
        guard let text = values[key] else { return fallback }
        var list: [Int] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let v = Int(item), range.contains(v) else {
                throw .usage("\(key) must be a comma-separated list of integers in \(range.lowerBound)...\(range.upperBound), got \"\(text)\"")
            }
            list.append(v)
        }
        return list
    }

    /// `--model`, else the default model (the same rule as the `recycle` CLI).
    func modelPath() throws(BenchError) -> String {
        if let path = values["--model"] { return path }
        do { return try DefaultModel.locate() } catch { throw .failure(error.description) }
    }

    static let model = (names: ["--model", "-m"], takesValue: true)
    static let threads = (names: ["--threads", "-t"], takesValue: true)
    static let runs = (names: ["--runs"], takesValue: true)
    static let json = (names: ["--json"], takesValue: false)
}

enum BenchError: Error, CustomStringConvertible {
    case usage(String)
    case failure(String)

    var description: String {
        switch self {
        case let .usage(m): "\(m)\nRun 'recycle-bench --help' for usage."
        case let .failure(m): m
        }
    }

    var isUsage: Bool { if case .usage = self { true } else { false } }
}
