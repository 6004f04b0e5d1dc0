#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RecycleArguments
import RecycleDecoding
import RecycleTools

/// `recycle trace FILE [--step N] [--format text|dot|svg|html] [-o OUT]`: draws a trace that
/// `generate --trace` wrote: one step's tree, or the whole trace as a page to step through.
struct TraceCommand {
    static let options: [Arguments.Option] = [
        .init(names: ["--step"], kind: .value),
        .init(names: ["--format"], kind: .value),
        .init(names: ["--output", "-o"], kind: .value),
        .init(names: ["--help", "-h"], kind: .flag),
    ]

    static let formats = ["text", "dot", "svg", "html"]

    let args: Arguments

    init(_ args: Arguments) { self.args = args }

    func run() throws {
        if args.has("--help") { try Output.write(usage + "\n"); return }
        guard args.positionals.count == 1, let path = args.positionals.first else {
            throw UsageError("trace needs exactly one trace file path")
        }
        let format = args.string("--format") ?? "text"
        guard Self.formats.contains(format) else {
            throw UsageError("unknown format \"\(format)\" (one of \(Self.formats.joined(separator: ", ")))")
        }
        let trace: Trace
        do { trace = try Trace(jsonLines: try AtomicFile.read(path: path), source: path) } catch { throw Failure("\(error)") }
        let steps = trace.steps
        let chosen: TraceStep?
        if let text = args.string("--step") {
            guard let number = Int(text) else { throw UsageError("--step needs a step number, got \"\(text)\"") }
            guard let step = steps.first(where: { $0.step == number }) else {
                let range = steps.isEmpty ? "no steps" : "steps \(steps[0].step)...\(steps[steps.count - 1].step)"
                throw UsageError("--step \(number): \(path) has \(range)")
            }
            chosen = step
        } else {
            chosen = trace.firstInterestingStep
        }
        let output: String
        do {
            if format == "html" {
                output = try TraceHTML.render(trace, title: path, initialStep: chosen?.step)
            } else {
                guard let chosen else { throw Failure("\(path) holds no steps to draw") }
                let tree = try StepTree(chosen, names: trace.tokenTexts)
                switch format {
                case "dot": output = TreeDot.render(tree)
                case "svg": output = TreeSVG.document(tree)
                default: output = TreeText.render(tree)
                }
            }
        } catch let error as Trace.ReadError {
            throw Failure("\(path), \(error)")
        }
        if let out = args.string("--output") {
            do { try AtomicFile.write(Array(output.utf8), path: out) } catch { throw Failure(error.description) }
        } else {
            try Output.write(output)
        }
    }
}
