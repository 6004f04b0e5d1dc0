#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import RecycleArguments
import RecycleDecoding
import RecycleModel
import RecycleServer
import RecycleTools

/// `recycle serve`: the model behind an OpenAI-compatible HTTP API, for as long as it runs.
/// What the drafter learns (the recycler's matrix, the cost curve) stays hot from request to
/// request, and is saved at exit (SIGINT, SIGTERM) like any other run's.
struct ServeCommand {
    static let options: [Arguments.Option] = RunOptions.options + [
        .init(names: ["--host"], kind: .value),
        .init(names: ["--port"], kind: .value),
        .init(names: ["--api-key"], kind: .value),
        .init(names: ["--queue"], kind: .value),
        .init(names: ["--max-tokens", "-n"], kind: .value),
        .init(names: ["--timeout"], kind: .value),
    ]

    let args: Arguments

    init(_ args: Arguments) { self.args = args }

    func run() throws {
        if args.has("--help") { try Output.write(usage + "\n"); return }
        guard args.positionals.isEmpty else { throw UsageError("unexpected argument \"\(args.positionals[0])\"") }
        for flag in ["--trace", "--show-steps", "--stop", "--seed"] where args.string(flag) != nil || args.has(flag) {
            throw UsageError("\(flag) is per request with serve (or not available); see --help")
        }
        var options = OpenAIServer.Options()
        options.host = args.string("--host") ?? options.host
        options.port = try args.int("--port", default: options.port, in: 0...65535)
        options.apiKey = args.string("--api-key")
        if options.apiKey?.isEmpty == true { throw UsageError("--api-key needs a non-empty key") }
        options.queue = try args.int("--queue", default: options.queue, in: 0...10_000)
        options.maxTokens = try args.int("--max-tokens", default: options.maxTokens, in: 1...1 << 20)
        options.limits.idleSeconds = try args.int("--timeout", default: options.limits.idleSeconds, in: 1...86_400)
        options.limits.sendSeconds = options.limits.idleSeconds
        options.log = { Output.log("recycle serve: " + $0) }
        let run = try RunOptions(args)
        if case let .random(temperature, topP, _, _, _) = run.sampler {
            options.temperature = temperature
            options.topP = topP
        }
        let model = run.model
        let context = try args.int("--context", default: min(model.config.contextLength, 4096), in: 1...model.config.contextLength)
        options.maxTokensLimit = context
        options.defaultSystemPrompt = model.defaultSystemPrompt
        let file = run.modelPath.split(separator: "/").last.map(String.init) ?? "recycle"
        options.modelID = file.hasSuffix(".rcyl") ? String(file.dropLast(5)) : file
        let generator = try run.generator(context: context)
        let server: OpenAIServer
        do { server = try OpenAIServer(model: model, generator: generator, drafter: run.drafter, options: options) } catch {
            throw Failure(error.description)
        }
        installInterruptHandler()
        let settings = run.drafter.settings.map { " \($0.name) \($0.value)" }.joined()
        Output.log("recycle serve: listening on http://\(options.host):\(server.port) (model \(options.modelID), drafter "
                   + "\(run.drafter.name)\(settings), context \(context), \(run.threads) threads"
                   + (options.apiKey == nil ? "" : ", API key required") + "); Ctrl-C stops and saves the drafter's state")
        server.run { Interrupt.requested.load(ordering: .relaxed) }
        try run.saveState()
        Output.log("recycle serve: stopped")
    }
}
