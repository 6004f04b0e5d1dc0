import Foundation
import RecycleArguments
import RecycleDecoding
import RecycleTools
import RecycleModel

/// `recycle-bench drafting`: what drafting costs per decoding step as the context grows, for
/// every drafter `DrafterChoice` knows, with no forward pass. For each context length L the
/// drafter begins with the first L tokens of real text, then runs one simulated decoding step
/// per token of the text after it: `draft`, then `observe` as if the model had produced the
/// text's next token at the root (the tokens after it standing in for every node's
/// candidates), both timed, since both are the drafter's work in every step. The text is the
/// Spec-Bench questions' turns, tokenized and concatenated: unrelated questions share few long
/// n-grams, so prompt lookup's backward scans often run through the whole context, its
/// costly case. A `suffix-index` row times the same steps on a bare `SuffixIndex`: append the
/// new token, read the match and a 16-token continuation.
///
/// Drafters that size their trees by cost learn it from the verifications they observe,
/// which report `syntheticCost` (no pass is run), so that they draft as they would on a CPU
/// like this one. The recycler drafts along
/// `--tree` (default 2.2.2, the paper's 80 nodes; `auto` drafts little here, since a next
/// token at the root alone teaches it few acceptances).
struct DraftingBench {
    static let options: [Arguments.Option] = [
        Options.model, Options.json,
        .init(names: ["--questions"], kind: .value), .init(names: ["--context"], kind: .value), .init(names: ["--steps"], kind: .value),
        .init(names: ["--tree"], kind: .value),
    ]

    /// Microseconds per call, each call timed on its own (reading the clock costs about
    /// 0.03 µs): the median is the usual step, p90 the slow ones (long scans, table growth).
    struct Times: Encodable {
        let median_us, p90_us: Double

        init(_ seconds: [Double]) {
            let us = seconds.map { $0 * 1e6 }.sorted()
            median_us = Stats(us).median
            p90_us = us[Int((Double(us.count - 1) * 0.9).rounded())]
        }
    }

    struct Result: Encodable {
        let drafter: String
        let context: Int
        let draft: Times
        /// Mean tokens proposed per call (tree nodes besides the root).
        let drafted: Double
    }

    struct Report: Encodable {
        let machine: Machine
        let steps: Int
        let recycle_tree: String
        let text_tokens: Int
        let results: [Result]
    }

    /// Seconds per verification pass of `n` nodes reported to the drafters: about this
    /// machine's two-thread curve for SmolLM2 (10 ms, plus 15% per extra node).
    static func syntheticCost(_ n: Int) -> Double { 0.010 * (1 + 0.15 * Double(n - 1)) }

    let path: String, questionsPath: String, lengths: [Int], steps: Int, tree: String, json: Bool

    init(_ o: Options) throws {
        path = try o.modelPath()
        questionsPath = o.string("--questions") ?? "Benchmarks/data/spec_bench.jsonl"
        lengths = try o.ints("--context", default: [256, 512, 1024, 2048, 4096], in: 1...1 << 20)
        steps = try o.int("--steps", default: 200, in: 1...100_000)
        tree = o.string("--tree") ?? "2.2.2"
        json = o.has("--json")
    }

    /// The questions' turns, tokenized one by one and concatenated until there are `count` tokens.
    func text(_ model: Model, count: Int) throws -> [Int32] {
        let file: String
        do { file = try String(contentsOfFile: questionsPath, encoding: .utf8) } catch {
            throw Failure("cannot read \(questionsPath): \(error.localizedDescription)")
        }
        var tokens: [Int32] = []
        for line in file.split(separator: "\n") where tokens.count < count {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let turns = object["turns"] as? [String]
            else { throw Failure("\(questionsPath): expected one {\"turns\": [str], ...} object per line") }
            for turn in turns { tokens += model.tokenizer.encode(turn + "\n\n") }
        }
        guard tokens.count >= count else { throw Failure("\(questionsPath) has \(tokens.count) tokens; \(count) needed") }
        return Array(tokens.prefix(count))
    }

    func run() throws {
        let model: Model
        do { model = try Model(path: path) } catch { throw Failure(error.description) }
        let text = try text(model, count: lengths.max()! + steps + 64)
        var results: [Result] = []
        for kind in DrafterChoice.Kind.allCases where kind != .none {
            for length in lengths {
                let drafter: Drafter
                do {
                    drafter = try DrafterChoice(kind: kind.rawValue, tree: kind == .recycle ? tree : nil, k: nil, start: nil, defaultKind: .none)
                        .make(vocabularySize: model.config.vocabSize)
                } catch {
                    throw UsageError(error.description)
                }
                var context = Array(text[..<length])
                drafter.begin(context: context)
                let k = drafter.candidatesPerNode
                var times: [Double] = [], drafted = 0
                for _ in 0..<steps {
                    let next = text[context.count]
                    times.append(seconds {
                        let tree = drafter.draft(root: context.last!, context: context)
                        drafted += tree.count - 1
                        // As if the model produced the text's next token at the root, with the
                        // tokens after it as every node's candidates.
                        let candidates = (0..<tree.count).flatMap { _ in text[context.count..<(context.count + k)] }
                        drafter.observe(Verification(tree: tree, acceptedPath: [0], produced: [next], candidates: candidates,
                                                     candidatesPerNode: k, context: context.count - 1,
                                                     seconds: Self.syntheticCost(tree.count)))
                    })
                    context.append(next)
                }
                results.append(Result(drafter: drafter.name, context: length, draft: Times(times), drafted: Double(drafted) / Double(steps)))
            }
        }
        for length in lengths {
            var index = SuffixIndex()
            index.append(contentsOf: text[..<(length - 1)])
            var times: [Double] = [], drafted = 0
            for step in 0..<steps {
                times.append(seconds {
                    index.append(text[length - 1 + step])
                    if let m = index.match { drafted += index.continuation(after: m.end, maxCount: 16).count }
                })
            }
            results.append(Result(drafter: "suffix-index", context: length, draft: Times(times), drafted: Double(drafted) / Double(steps)))
        }
        let machine = Machine(threads: 1)
        if json { printJSON(Report(machine: machine, steps: steps, recycle_tree: tree, text_tokens: text.count, results: results)); return }
        print(machine.markdown + "; µs per step (draft + observe), median / p90 of \(steps) steps on Spec-Bench text, "
              + "recycle tree \(tree) (mean tokens drafted per call in brackets)\n")
        let drafters = results.map(\.drafter).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        printTable(["drafter"] + lengths.map { "L=\($0)" }, drafters.map { name in
            [name] + results.filter { $0.drafter == name }.map { "\(format($0.draft.median_us)) / \(format($0.draft.p90_us)) (\(format($0.drafted, 1)))" }
        })
    }
}
