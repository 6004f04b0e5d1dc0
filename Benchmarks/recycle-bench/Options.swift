import RecycleArguments
import RecycleModel

/// The benchmarks' command line: the shared `Arguments` parser, no positional arguments,
/// and the options every benchmark uses.
typealias Options = Arguments

extension Arguments {
    /// Parses a benchmark's options; any positional argument is an error.
    static func benchmark(_ args: ArraySlice<String>, _ options: [Option]) throws -> Arguments {
        let parsed = try Arguments(args, options: options)
        if let extra = parsed.positionals.first { throw UsageError("unexpected argument \"\(extra)\"") }
        return parsed
    }

    /// `--model`, else the default model (the same rule as the `recycle` CLI).
    func modelPath() throws -> String {
        if let path = string("--model") { return path }
        do { return try DefaultModel.locate() } catch { throw Failure(error.description) }
    }

    static let model = Option(names: ["--model", "-m"], kind: .value)
    static let threads = Option(names: ["--threads", "-t"], kind: .value)
    static let runs = Option(names: ["--runs"], kind: .value)
    static let json = Option(names: ["--json"], kind: .flag)
}
