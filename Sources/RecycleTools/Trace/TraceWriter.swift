#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import RecycleDecoding
import RecycleModel

/// Writes a trace file (see `TraceRecords.swift`) as generation goes: a header when a
/// generation begins, a step record as each pass ends, a summary at the end. Lines are
/// written as they come, so a trace cut short by Ctrl-C still holds every finished step.
///
/// A write that fails (a full disk, a closed pipe) ends the trace but not the generation:
/// the failure is kept in `failure` for the front end to report once the text is out.
public final class TraceWriter {
    private let fd: Int32
    /// The file being written.
    public let path: String
    private let tokenizer: Tokenizer
    private let encoder = JSONEncoder()
    private var nextStep = 0, turn = 0
    /// Why the trace stopped being written, if it did.
    public private(set) var failure: String?

    /// The trace file could not be created; the message names the path and the reason.
    public struct OpenError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Creates (or truncates) the file at `path`.
    public init(path: String, tokenizer: Tokenizer) throws(OpenError) {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw OpenError(description: "cannot write the trace \(path): \(String(cString: strerror(errno)))") }
        self.path = path
        self.tokenizer = tokenizer
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    deinit { close(fd) }

    /// The header of a generation about to start on `prompt`.
    public func begin(model: String, drafter: Drafter, sampler: Sampler, prompt: [Int32]) {
        let sampling: String
        switch sampler {
        case .greedy: sampling = "greedy"
        case let .random(temperature, topP, seed, topK, minP):
            sampling = "temperature \(temperature), top-p \(topP), top-k \(topK), min-p \(minP), seed \(seed)"
        }
        write(TraceHeader(model: model, drafter: drafter.name,
                          settings: drafter.settings.map { TraceSetting(name: $0.name, value: $0.value) },
                          sampling: sampling, turn: turn, firstStep: nextStep, prompt: prompt.map(token)))
        turn += 1
    }

    /// One finished step (`Generator.generate`'s `onStep`).
    public func step(_ r: StepReport) {
        write(TraceStep(r, number: nextStep, tokenizer: tokenizer))
        nextStep += 1
    }

    /// The summary of the generation that just ended.
    public func end(_ r: GenerationResult, text: String) {
        write(TraceSummary(steps: r.forwardPasses, tokens: r.tokens.count, text: text, stopReason: r.stopReason.rawValue,
                           meanAccepted: r.meanAccepted, reusedTokens: r.reusedTokens, prefillMs: r.prefillSeconds * 1000,
                           decodeMs: r.decodeSeconds * 1000, tokensPerSecond: r.tokensPerSecond))
    }

    private func token(_ id: Int32) -> TraceToken { TraceToken(id: id, text: tokenText(id, tokenizer)) }

    private func write<Record: Encodable>(_ record: Record) {
        guard failure == nil else { return }
        let line: [UInt8]
        do { line = [UInt8](try encoder.encode(record)) + [UInt8(ascii: "\n")] } catch {
            failure = "cannot encode a trace record: \(error)"
            return
        }
        var written = 0
        while written < line.count {
            let n = line.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, line.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                failure = "cannot write the trace \(path): \(String(cString: strerror(errno)))"
                return
            }
            written += n
        }
    }
}

extension TraceStep {
    /// A step record: `report` with every token's text, and each node's rank path where the
    /// nodes above it were all recycled.
    public init(_ r: StepReport, number: Int, tokenizer: Tokenizer) {
        let tree = r.tree, depths = tree.depths
        func token(_ id: Int32) -> TraceToken { TraceToken(id: id, text: tokenText(id, tokenizer)) }
        var rankPaths: [[Int]?] = [[]]
        var nodes = [TraceNode(id: 0, parent: -1, token: tree.tokens[0], text: tokenText(tree.tokens[0], tokenizer),
                               depth: 0, source: nil, rankPath: nil)]
        for i in 1..<tree.count {
            let s = tree.sources[i], parent = tree.parents[i]
            let rankPath = s.rank.flatMap { rank in rankPaths[parent].map { $0 + [rank] } }
            rankPaths.append(rankPath)
            let known = s.rowOf != nil || s.copiedFrom != nil
            nodes.append(TraceNode(id: i, parent: parent, token: tree.tokens[i], text: tokenText(tree.tokens[i], tokenizer),
                                   depth: depths[i],
                                   source: known ? TraceSource(rowOf: s.rowOf, rank: s.rank, copiedFrom: s.copiedFrom,
                                                               matchLength: s.matchLength) : nil,
                                   rankPath: rankPath))
        }
        let rows = r.rewrites.map {
            TraceRow(token: token($0.token), before: $0.before.map(token), after: $0.after.map(token), writes: $0.writes)
        }
        let sizing = r.sizing.map {
            TraceSizing(hitRates: $0.hitRates.map { $0.map { rounded($0, 4) } }, probabilities: $0.probabilities.map { rounded($0, 4) },
                        costMs: $0.costs.map { rounded($0 * 1000, 3) }, chosen: $0.chosen,
                        expectedTokens: rounded($0.expectedTokens, 4), expectedSpeedup: rounded($0.expectedSpeedup, 4))
        }
        self.init(step: number, context: r.context, nodes: nodes,
                  choices: zip(r.acceptedPath, r.choices).map { TraceChoice(node: $0, token: $1, text: tokenText($1, tokenizer)) },
                  accepted: r.acceptedPath, produced: r.produced.map(token), rows: rows.isEmpty ? nil : rows,
                  sizing: sizing, draftMs: rounded(r.draftSeconds * 1000, 3), passMs: rounded(r.passSeconds * 1000, 3))
    }
}

/// `x` to `digits` decimals: a trace's estimates and timings are not worth 17 digits.
private func rounded(_ x: Double, _ digits: Int) -> Double {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    return (x * scale).rounded() / scale
}

/// One line for `--show-steps`: `pass 12: 14 nodes, accepted 3 (" the" " cat" " sat") + " on"`.
public func stepLine(_ r: StepReport, number: Int, tokenizer: Tokenizer) -> String {
    func quoted(_ id: Int32) -> String { quotedToken(tokenText(id, tokenizer)) }
    let drafts = r.acceptedPath.count - 1
    var line = "pass \(number): \(r.tree.count) node\(r.tree.count == 1 ? "" : "s"), accepted \(drafts)"
    if drafts > 0 { line += " (" + r.choices.prefix(drafts).map(quoted).joined(separator: " ") + ")" }
    if let last = r.choices.last { line += " + " + quoted(last) }
    return line + ", \(fixed(r.passSeconds * 1000, 1)) ms"
}
