import Foundation
import RecycleArguments
import RecycleDecoding
import RecycleModel

/// `recycle-bench specbench`: Spec-Bench as the field runs it. For each question, every turn
/// in one ChatML conversation, greedy, `--max-tokens` per turn; plain greedy and the drafter
/// run one after the other on the same question, so speed ratios come from the same moment
/// of a noisy machine. Reports, per group and overall: mean accepted tokens per step (MAT),
/// tokens/s of both, speedup, and whether every turn's tokens were identical. Tokens/s are
/// generated tokens over decode time; the drafter's decode time includes its calibration
/// (`--tree auto` times verification passes before decoding), which is also reported alone.
struct SpecBench {
    static let options: [Arguments.Option] = [
        Options.model, Options.threads, Options.json,
        .init(names: ["--questions"], kind: .value), .init(names: ["--per-group"], kind: .value), .init(names: ["--every"], kind: .value), .init(names: ["--max-tokens", "-n"], kind: .value),
        .init(names: ["--drafter"], kind: .value), .init(names: ["--tree"], kind: .value), .init(names: ["--start"], kind: .value), .init(names: ["-k"], kind: .value), .init(names: ["--turns"], kind: .value),
        .init(names: ["--system"], kind: .value),
    ]

    struct Question {
        let id: Int
        let group: String
        let turns: [String]
    }

    /// Totals over some questions.
    struct Tally {
        var questions = 0, tokens = 0, greedyTokens = 0, passes = 0
        /// `drafterSeconds` includes `calibrationSeconds`.
        var greedySeconds = 0.0, drafterSeconds = 0.0, calibrationSeconds = 0.0
        var identical = true

        mutating func add(_ t: Tally) {
            questions += t.questions; tokens += t.tokens; greedyTokens += t.greedyTokens; passes += t.passes
            greedySeconds += t.greedySeconds; drafterSeconds += t.drafterSeconds; calibrationSeconds += t.calibrationSeconds
            identical = identical && t.identical
        }

        var mat: Double { passes > 0 ? Double(tokens) / Double(passes) : 0 }
        var tpsGreedy: Double { greedySeconds > 0 ? Double(greedyTokens) / greedySeconds : 0 }
        var tpsDrafter: Double { drafterSeconds > 0 ? Double(tokens) / drafterSeconds : 0 }
        var speedup: Double { tpsGreedy > 0 ? tpsDrafter / tpsGreedy : 0 }
    }

    struct GroupReport: Encodable {
        let questions: Int
        let mat, tps_greedy, tps_drafter, speedup: Double
        /// Total calibration time, already inside `tps_drafter` and `speedup`.
        let calibration_ms: Double
        let identical: Bool

        init(_ t: Tally) {
            questions = t.questions; mat = t.mat; tps_greedy = t.tpsGreedy; tps_drafter = t.tpsDrafter
            speedup = t.speedup; calibration_ms = t.calibrationSeconds * 1000; identical = t.identical
        }
    }

    struct QuestionReport: Encodable {
        let question_id: Int
        let group: String
        let mat: Double
        let tokens: Int
        let identical: Bool
    }

    struct Report: Encodable {
        let machine: Machine
        let drafter: String
        /// The drafter's settings (tree shape, start), as `Drafter.settings` names them.
        let settings: [String: String]
        let max_tokens: Int
        let turns: String
        let system: String
        let groups: [String: GroupReport]
        let overall: GroupReport
        let questions: [QuestionReport]
    }

    /// The eight MT-bench categories form one group, as in Spec-Bench's reports.
    static let mtBench: Set<String> = ["writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities"]

    let path: String, questionsPath: String, threads: Int, maxTokens: Int, perGroup: Int?, every: Int
    let choice: DrafterChoice, firstTurnOnly: Bool, system: String?, json: Bool

    init(_ o: Options) throws {
        path = try o.modelPath()
        guard let q = o.string("--questions") else { throw UsageError("specbench needs --questions FILE (e.g. Benchmarks/data/spec_bench.jsonl)") }
        questionsPath = q
        threads = try o.int("--threads", default: 1, in: 1...256)
        maxTokens = try o.int("--max-tokens", default: 256, in: 1...8192)
        perGroup = o.string("--per-group") == nil ? nil : try o.int("--per-group", default: 0, in: 1...100_000)
        every = try o.int("--every", default: 1, in: 1...100_000)
        let k = o.string("-k") == nil ? nil : try o.int("-k", default: 8, in: 1...64)
        do {
            choice = try DrafterChoice(kind: o.string("--drafter"), tree: o.string("--tree"), k: k,
                                       start: o.string("--start"), defaultKind: .recycle)
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
        let drafter: Drafter
        do { drafter = try choice.make(vocabularySize: model.config.vocabSize) } catch { throw UsageError(error.description) }
        let context = model.config.contextLength
        let plain = Generator(model: model, contextLength: context, threads: threads)
        let speculative = Generator(model: model, contextLength: context, threads: threads)
        let systemMessage: ChatMessage? = system.flatMap { $0 == "none" ? nil : ChatMessage(role: "system", content: $0) }
        let fallback = system == nil ? model.defaultSystemPrompt : nil

        var groups: [String: Tally] = [:], order: [String] = [], perQuestion: [QuestionReport] = []
        for (n, q) in questions.enumerated() {
            var tally = Tally()
            tally.questions = 1
            var greedyConversation: [Int32] = [], drafterConversation: [Int32] = []
            do {
                for (t, turn) in (firstTurnOnly ? Array(q.turns.prefix(1)) : q.turns).enumerated() {
                    let messages = (t == 0 ? systemMessage.map { [$0] } ?? [] : []) + [ChatMessage(role: "user", content: turn)]
                    let rendered = template.render(messages, defaultSystemPrompt: t == 0 ? fallback : nil, addGenerationPrompt: true)
                    let turnTokens = model.tokenizer.encode((t == 0 ? "" : "\n") + rendered)
                    greedyConversation += turnTokens
                    drafterConversation += turnTokens
                    let g = try plain.generate(prompt: greedyConversation, maxTokens: maxTokens, sampler: .greedy)
                    let d = try speculative.generate(prompt: drafterConversation, maxTokens: maxTokens, sampler: .greedy, drafter: drafter)
                    tally.greedyTokens += g.tokens.count
                    tally.greedySeconds += g.decodeSeconds
                    tally.tokens += d.tokens.count
                    tally.drafterSeconds += d.decodeSeconds
                    tally.calibrationSeconds += d.calibrationSeconds
                    tally.passes += d.forwardPasses
                    tally.identical = tally.identical && g.tokens == d.tokens
                    greedyConversation += g.tokens + (g.stopReason == .eos ? [] : [model.tokenizer.eosID])
                    drafterConversation += d.tokens + (d.stopReason == .eos ? [] : [model.tokenizer.eosID])
                }
            } catch {
                throw Failure("question \(q.id): \(error)")
            }
            if groups[q.group] == nil { order.append(q.group) }
            groups[q.group, default: Tally()].add(tally)
            perQuestion.append(QuestionReport(question_id: q.id, group: q.group, mat: tally.mat, tokens: tally.tokens, identical: tally.identical))
            FileHandle.standardError.write(Data(String(
                format: "[%d/%d] question %d (%@): MAT %.2f, %.1f vs %.1f tok/s, %@\n", n + 1, questions.count, q.id, q.group,
                tally.mat, tally.tpsDrafter, tally.tpsGreedy, tally.identical ? "identical" : "DIFFERENT").utf8))
        }
        var overall = Tally()
        for g in order { overall.add(groups[g]!) }
        let settings = Dictionary(drafter.settings, uniquingKeysWith: { a, _ in a })
        if json {
            printJSON(Report(machine: Machine(threads: threads), drafter: drafter.name, settings: settings, max_tokens: maxTokens, turns: firstTurnOnly ? "first" : "all",
                             system: system ?? "default", groups: groups.mapValues(GroupReport.init),
                             overall: GroupReport(overall), questions: perQuestion))
            return
        }
        print(Machine(threads: threads).markdown)
        print("drafter \(drafter.name)" + drafter.settings.map { ", \($0.name) \($0.value)" }.joined()
              + "; \(maxTokens) tokens per turn, turns: \(firstTurnOnly ? "first" : "all"), system: \(system ?? "default")\n")
        let columns = order + ["overall"]
        let tallies = order.map { groups[$0]! } + [overall]
        printTable([""] + columns, [
            ["questions"] + tallies.map { "\($0.questions)" },
            ["MAT"] + tallies.map { format($0.mat) },
            ["tok/s greedy"] + tallies.map { format($0.tpsGreedy, 1) },
            ["tok/s \(drafter.name)"] + tallies.map { format($0.tpsDrafter, 1) },
            ["speedup"] + tallies.map { format($0.speedup) + "x" },
            ["calibration ms (in tok/s)"] + tallies.map { format($0.calibrationSeconds * 1000, 1) },
            ["identical"] + tallies.map { $0.identical ? "yes" : "NO" },
        ])
    }
}
