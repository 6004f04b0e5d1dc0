import Foundation
import RecycleArguments
import RecycleDecoding
import RecycleTools
import RecycleModel

/// `recycle-bench specbench`: Spec-Bench as the field runs it. For each question, every turn
/// in one ChatML conversation, `--max-tokens` per turn, greedy or sampled (`--temp`, with a
/// seed per question and turn). Plain decoding and every drafter run one after the other on
/// the same question, so speed ratios come from the same moment of a noisy machine; each
/// drafter keeps its state from question to question, as a long-running process would.
/// Reports, per group and overall and per drafter: mean accepted tokens per step (MAT),
/// tokens/s, speedup over plain decoding, and whether every turn's tokens were identical to
/// plain decoding's. Tokens/s are generated tokens over decode time, all of the drafter's
/// work included.
struct SpecBench {
    static let options: [Arguments.Option] = [
        Options.model, Options.threads, Options.json,
        .init(names: ["--questions"], kind: .value), .init(names: ["--per-group"], kind: .value), .init(names: ["--every"], kind: .value), .init(names: ["--max-tokens", "-n"], kind: .value),
        .init(names: ["--drafter"], kind: .value), .init(names: ["--tree"], kind: .value), .init(names: ["--start"], kind: .value), .init(names: ["-k"], kind: .value), .init(names: ["--turns"], kind: .value),
        .init(names: ["--system"], kind: .value), .init(names: ["--temp"], kind: .value), .init(names: ["--seed"], kind: .value),
        .init(names: ["--save"], kind: .value), .init(names: ["--trace"], kind: .value),
    ]

    struct Question {
        let id: Int
        let group: String
        let turns: [String]
    }

    /// Totals of one decoder (plain or a drafter) over some questions.
    struct Tally {
        var questions = 0, tokens = 0, passes = 0
        var seconds = 0.0
        /// The sum over generated tokens of the context each was decoded on.
        var contextTokens = 0.0
        var identical = true

        mutating func add(_ t: Tally) {
            questions += t.questions; tokens += t.tokens; passes += t.passes
            seconds += t.seconds
            contextTokens += t.contextTokens
            identical = identical && t.identical
        }

        mutating func add(_ r: GenerationResult, identical same: Bool) {
            tokens += r.tokens.count; passes += r.forwardPasses
            seconds += r.decodeSeconds
            contextTokens += Double(r.tokens.count) * (Double(r.promptTokens.count) + Double(r.tokens.count) / 2)
            identical = identical && same
        }

        var mat: Double { passes > 0 ? Double(tokens) / Double(passes) : 0 }
        var tokensPerSecond: Double { seconds > 0 ? Double(tokens) / seconds : 0 }
        var meanContext: Double { tokens > 0 ? contextTokens / Double(tokens) : 0 }
    }

    struct GroupReport: Encodable {
        let questions: Int
        let mat, tokens_per_second, speedup: Double
        /// Mean context length a token was decoded on (prompt and earlier turns included).
        let mean_context: Double
        let identical: Bool

        init(_ t: Tally, plain: Tally) {
            questions = t.questions; mat = t.mat; tokens_per_second = t.tokensPerSecond; mean_context = t.meanContext
            speedup = plain.tokensPerSecond > 0 ? t.tokensPerSecond / plain.tokensPerSecond : 0
            identical = t.identical
        }
    }

    struct DrafterReport: Encodable {
        let drafter: String
        let settings: [String: String]
        let groups: [String: GroupReport]
        let overall: GroupReport
    }

    struct Report: Encodable {
        let machine: Machine
        let max_tokens: Int
        let turns: String
        let system: String
        let sampling: String
        let questions: Int
        /// Plain decoding first, then every drafter.
        let decoders: [DrafterReport]
    }

    /// The eight MT-bench categories form one group, as in Spec-Bench's reports.
    static let mtBench: Set<String> = ["writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities"]

    let path: String, questionsPath: String, threads: Int, maxTokens: Int, perGroup: Int?, every: Int
    let choices: [DrafterChoice], firstTurnOnly: Bool, system: String?, json: Bool
    let temperature: Float, seed: UInt64
    /// Where to write the JSON report besides the Markdown tables (a long run's record).
    let savePath: String?
    /// Where each drafter's trace goes, if anywhere: one file per drafter, a header per turn.
    let traceDirectory: String?

    init(_ o: Options) throws {
        path = try o.modelPath()
        guard let q = o.string("--questions") else { throw UsageError("specbench needs --questions FILE (e.g. Benchmarks/data/spec_bench.jsonl)") }
        questionsPath = q
        threads = try o.int("--threads", default: 1, in: 1...256)
        maxTokens = try o.int("--max-tokens", default: 256, in: 1...8192)
        perGroup = o.string("--per-group") == nil ? nil : try o.int("--per-group", default: 0, in: 1...100_000)
        every = try o.int("--every", default: 1, in: 1...100_000)
        let k = o.string("-k") == nil ? nil : try o.int("-k", default: 8, in: 1...64)
        // A comma-separated list: each drafter takes the options that apply to it.
        let kinds = (o.string("--drafter") ?? "recycle").split(separator: ",").map(String.init)
        guard !kinds.isEmpty else { throw UsageError("--drafter needs at least one name") }
        do {
            choices = try kinds.map { kind throws(DrafterChoice.UsageError) in
                let recycles = DrafterChoice.Kind(rawValue: kind)?.recycles == true
                return try DrafterChoice(kind: kind, tree: kind == "recycle" ? o.string("--tree") : nil, k: recycles ? k : nil,
                                         start: recycles ? o.string("--start") : nil, defaultKind: .recycle)
            }
        } catch {
            throw UsageError(error.description)
        }
        switch o.string("--turns") ?? "all" {
        case "all": firstTurnOnly = false
        case "first": firstTurnOnly = true
        case let other: throw UsageError("--turns must be all or first, got \"\(other)\"")
        }
        system = o.string("--system")
        json = o.has("--json")
        temperature = try o.float("--temp", default: 0, in: 0...100)
        seed = UInt64(try o.int("--seed", default: 1, in: 0...Int.max))
        savePath = o.string("--save")
        traceDirectory = o.string("--trace")
    }

    /// The sampler of one turn: greedy, or sampling with a seed of its own, the same for
    /// plain decoding and every drafter.
    func sampler(question: Int, turn: Int) -> Sampler {
        temperature > 0 ? .random(temperature: temperature, topP: 0.95, seed: seed &+ UInt64(question * 16 + turn)) : .greedy
    }

    func loadQuestions() throws -> [Question] {
        let text: String
        do { text = try String(contentsOfFile: questionsPath, encoding: .utf8) } catch {
            throw Failure("cannot read \(questionsPath): \(error.localizedDescription)")
        }
        var all: [Question] = []
        for (n, line) in text.split(separator: "\n").enumerated() where !line.allSatisfy(\.isWhitespace) {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let id = object["question_id"] as? Int, let category = object["category"] as? String,
                  let turns = object["turns"] as? [String], !turns.isEmpty
            else { throw Failure("\(questionsPath):\(n + 1): expected {\"question_id\": int, \"category\": str, \"turns\": [str]}") }
            all.append(Question(id: id, group: Self.mtBench.contains(category) ? "mt_bench" : category, turns: turns))
        }
        var picked: [Question] = [], taken: [String: Int] = [:]
        for (i, q) in all.enumerated() where i % every == 0 {
            if let perGroup, taken[q.group, default: 0] >= perGroup { continue }
            taken[q.group, default: 0] += 1
            picked.append(q)
        }
        guard !picked.isEmpty else { throw Failure("no questions selected from \(questionsPath)") }
        return picked
    }

    func run() throws {
        let questions = try loadQuestions()
        let model: Model
        do { model = try Model(path: path) } catch { throw Failure(error.description) }
        guard let template = model.chatTemplate else { throw Failure("the model has no chat template") }
        let drafters: [Drafter]
        do { drafters = try choices.map { try $0.make(vocabularySize: model.config.vocabSize) } } catch { throw UsageError("\(error)") }
        let context = model.config.contextLength
        let plain = try Generator(model: model, contextLength: context, threads: threads)
        let generators = try drafters.map { _ in try Generator(model: model, contextLength: context, threads: threads) }
        var traces: [TraceWriter?] = drafters.map { _ in nil }
        if let traceDirectory {
            for (d, drafter) in drafters.enumerated() {
                do { traces[d] = try TraceWriter(path: "\(traceDirectory)/\(drafter.name).jsonl", tokenizer: model.tokenizer) } catch {
                    throw Failure(error.description)
                }
            }
        }
        let systemMessage: ChatMessage? = system.flatMap { $0 == "none" ? nil : ChatMessage(role: "system", content: $0) }
        let fallback = system == nil ? model.defaultSystemPrompt : nil

        // tallies[g][0] is plain decoding, tallies[g][1 + d] drafter d.
        var groups: [String: [Tally]] = [:], order: [String] = []
        for (n, q) in questions.enumerated() {
            var tallies = [Tally](repeating: Tally(questions: 1), count: drafters.count + 1)
            var conversations = [[Int32]](repeating: [], count: drafters.count + 1)
            do {
                for (t, turn) in (firstTurnOnly ? Array(q.turns.prefix(1)) : q.turns).enumerated() {
                    let messages = (t == 0 ? systemMessage.map { [$0] } ?? [] : []) + [ChatMessage(role: "user", content: turn)]
                    let rendered = template.render(messages, defaultSystemPrompt: t == 0 ? fallback : nil, addGenerationPrompt: true)
                    let turnTokens = model.tokenizer.encode((t == 0 ? "" : "\n") + rendered)
                    let sampler = sampler(question: q.id, turn: t)
                    var reference: [Int32] = []
                    for d in 0...drafters.count {
                        conversations[d] += turnTokens
                        let trace = d == 0 ? nil : traces[d - 1]
                        if d > 0 { trace?.begin(model: path, drafter: drafters[d - 1], sampler: sampler, prompt: conversations[d]) }
                        let r = d == 0
                            ? try plain.generate(prompt: conversations[d], maxTokens: maxTokens, sampler: sampler)
                            : try generators[d - 1].generate(prompt: conversations[d], maxTokens: maxTokens, sampler: sampler,
                                                             drafter: drafters[d - 1], onStep: trace.map { t in { t.step($0) } })
                        trace?.end(r, text: model.tokenizer.decode(r.tokens))
                        if d == 0 { reference = r.tokens }
                        tallies[d].add(r, identical: r.tokens == reference)
                        conversations[d] += r.tokens + (r.stopReason == .eos ? [] : [model.tokenizer.eosID])
                    }
                }
            } catch {
                throw Failure("question \(q.id): \(error)")
            }
            if groups[q.group] == nil { order.append(q.group); groups[q.group] = [Tally](repeating: Tally(), count: drafters.count + 1) }
            for d in tallies.indices { groups[q.group]![d].add(tallies[d]) }
            let line = drafters.indices.map { d in
                String(format: "%@ MAT %.2f %.1f tok/s%@", drafters[d].name, tallies[d + 1].mat, tallies[d + 1].tokensPerSecond,
                       tallies[d + 1].identical ? "" : " DIFFERENT")
            }.joined(separator: ", ")
            FileHandle.standardError.write(Data(String(format: "[%d/%d] question %d (%@): none %.1f tok/s; %@\n", n + 1, questions.count,
                                                       q.id, q.group, tallies[0].tokensPerSecond, line).utf8))
        }
        if let failure = traces.lazy.compactMap({ $0?.failure }).first { throw Failure(failure) }
        var overall = [Tally](repeating: Tally(), count: drafters.count + 1)
        for g in order { for d in overall.indices { overall[d].add(groups[g]![d]) } }
        let names = ["none"] + drafters.map(\.name)
        let settings = [[:]] + drafters.map { Dictionary($0.settings, uniquingKeysWith: { a, _ in a }) }
        let sampling = temperature > 0 ? "temperature \(temperature), top-p 0.95, seed \(seed) + 16 * question + turn" : "greedy"
        let decoders = names.indices.map { d in
            DrafterReport(drafter: names[d], settings: settings[d],
                          groups: groups.mapValues { GroupReport($0[d], plain: $0[0]) }, overall: GroupReport(overall[d], plain: overall[0]))
        }
        let report = Report(machine: Machine(threads: threads), max_tokens: maxTokens, turns: firstTurnOnly ? "first" : "all",
                            system: system ?? "default", sampling: sampling, questions: questions.count, decoders: decoders)
        if let savePath {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
            do { try encoder.encode(report).write(to: URL(fileURLWithPath: savePath)) } catch {
                throw Failure("cannot write \(savePath): \(error.localizedDescription)")
            }
        }
        if json {
            printJSON(report)
            return
        }
        print(Machine(threads: threads).markdown)
        let described = drafters.map { d -> String in
            let settings = d.settings.map { "\($0.name) \($0.value)" }.joined(separator: ", ")
            return settings.isEmpty ? d.name : "\(d.name) (\(settings))"
        }
        print("\(maxTokens) tokens per turn, turns: \(firstTurnOnly ? "first" : "all"), system: \(system ?? "default"), \(sampling); "
              + "\(questions.count) questions; drafters: \(described.joined(separator: ", "))\n")
        let columns = order + ["overall"]
        let all = order.map { groups[$0]! } + [overall]
        let count = ["questions"] + all.map { "\($0[0].questions)" }
        func rows(_ cell: (Tally, Tally) -> String) -> [[String]] { names.indices.map { d in [names[d]] + all.map { cell($0[d], $0[0]) } } }
        print("MAT (tokens per pass)\n")
        printTable([""] + columns, [count] + rows { t, _ in format(t.mat) })
        print("\ntokens/s\n")
        printTable([""] + columns, rows { t, _ in format(t.tokensPerSecond, 1) })
        print("\nspeedup over none\n")
        printTable([""] + columns, rows { t, p in format(p.tokensPerSecond > 0 ? t.tokensPerSecond / p.tokensPerSecond : 0) + "x" })
        print("\nidentical to none\n")
        printTable([""] + columns, rows { t, _ in t.identical ? "yes" : "DIFFERENT" })
    }
}
