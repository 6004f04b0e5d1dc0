#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import RecycleArguments
import RecycleDecoding
import RecycleModel
import RecycleTools

/// The options `generate` and `chat` share: the model, threads, sampling and drafting.
struct RunOptions {
    static let options: [Arguments.Option] = [
        .init(names: ["--model", "-m"], kind: .value),
        .init(names: ["--threads", "-t"], kind: .value),
        .init(names: ["--context", "-c"], kind: .value),
        .init(names: ["--system"], kind: .value),
        .init(names: ["--temp"], kind: .value),
        .init(names: ["--top-p"], kind: .value),
        .init(names: ["--top-k"], kind: .value),
        .init(names: ["--min-p"], kind: .value),
        .init(names: ["--stop"], kind: .value),
        .init(names: ["--seed"], kind: .value),
        .init(names: ["--drafter"], kind: .value),
        .init(names: ["--tree"], kind: .value),
        .init(names: ["--start"], kind: .value),
        .init(names: ["--matrix"], kind: .value),
        .init(names: ["--no-cache"], kind: .flag),
        .init(names: ["-k"], kind: .value),
        .init(names: ["--trace"], kind: .value),
        .init(names: ["--show-steps"], kind: .flag),
        .init(names: ["--help", "-h"], kind: .flag),
    ]

    let model: Model
    let modelPath: String
    /// Seconds to open the model and the drafter's saved state.
    let loadSeconds: Double
    /// `--stop` strings (repeatable).
    let stops: [String]
    let threads: Int
    let sampler: Sampler
    /// Whether the seed was chosen here (so the user should be told it).
    let seedWasChosen: Bool
    let drafter: Drafter
    let drafterChoice: DrafterChoice
    /// Where the recycler's matrix is loaded from and saved to, as given.
    let matrixPath: String?
    /// This process's exclusive use of the matrix file, from before loading to exit.
    let matrixLock: MatrixFileLock?
    /// The drafter's matrix, if it keeps one.
    let matrix: (any PersistentState)?
    /// The state cache, unless `--no-cache`, the drafter keeps nothing, or it cannot be used.
    let cache: StateCache?
    /// What the cache loads and saves: the drafter's persistent state, less the matrix when
    /// `--matrix` names its file.
    let cachedState: [any PersistentState]
    /// `--trace FILE`: every step written down as it ends.
    let trace: TraceWriter?
    /// `--show-steps`: a line per step on stderr.
    let showSteps: Bool

    init(_ args: Arguments) throws {
        threads = try args.int("--threads", default: ProcessInfo.processInfo.activeProcessorCount, in: 1...1024)
        let temperature = try args.float("--temp", default: 0, in: 0...100)
        let choice: DrafterChoice
        let k = args.string("-k") == nil ? nil : try args.int("-k", default: 8, in: 1...64)
        do {
            choice = try DrafterChoice(kind: args.string("--drafter"), tree: args.string("--tree"), k: k,
                                       start: args.string("--start"), defaultKind: .suffix)
        } catch {
            throw UsageError(error.description)
        }
        if temperature > 0 {
            let seed = try args.int("--seed", default: Int(Date().timeIntervalSince1970 * 1000), in: 0...Int.max)
            seedWasChosen = args.string("--seed") == nil
            sampler = .random(temperature: temperature, topP: try args.float("--top-p", default: 0.95, in: 0...1), seed: UInt64(seed),
                              topK: try args.int("--top-k", default: 0, in: 0...1 << 30),
                              minP: try args.float("--min-p", default: 0, in: 0...1))
        } else {
            if let given = ["--seed", "--top-p", "--top-k", "--min-p"].first(where: { args.string($0) != nil }) {
                throw UsageError("\(given) needs --temp > 0 (sampling); without it decoding is greedy")
            }
            seedWasChosen = false
            sampler = .greedy
        }
        stops = args.strings("--stop")
        if stops.contains("") { throw UsageError("--stop needs a non-empty string") }
        let loadStart = ContinuousClock.now
        matrixPath = args.string("--matrix")
        if choice.start == .cold, matrixPath != nil { throw UsageError("--matrix needs --start hot (a cold start resets the matrix)") }

        let path: String
        if let given = args.string("--model") {
            // An empty path (an unset shell variable) must not quietly mean the default model.
            guard !given.isEmpty else { throw UsageError("--model needs a path, got an empty string") }
            path = given
        } else {
            do { path = try DefaultModel.locate() } catch { throw Failure(error.description) }
        }
        do { model = try Model(path: path) } catch { throw Failure(error.description) }
        modelPath = path
        do { drafter = try choice.make(vocabularySize: model.config.vocabSize) } catch { throw UsageError(error.description) }
        drafterChoice = choice
        matrix = drafter.persistentState.first { $0.name == "matrix" }
        if matrixPath != nil && matrix == nil { throw UsageError("--matrix needs a drafter that keeps a matrix (recycle or hybrid)") }
        if let matrixPath {
            // Taken before generating, not at the save: a run must not be lost to an unwritable
            // path or to another process using the same matrix.
            do { matrixLock = try MatrixFileLock(path: matrixPath) } catch { throw Failure(error.description) }
        } else {
            matrixLock = nil
        }
        if let matrixLock, let matrix, FileManager.default.fileExists(atPath: matrixLock.target) {
            do { try matrix.restore(from: try MatrixFile.read(path: matrixLock.target), source: matrixLock.target) } catch {
                throw Failure("\(error)")
            }
        }
        let matrixHasAFile = matrixPath != nil
        let cached = drafter.persistentState.filter { !matrixHasAFile || $0.name != "matrix" }
        cache = args.has("--no-cache") || cached.isEmpty
            ? nil : StateCache.open(model: model.file, threads: threads) { Output.log("recycle: \($0)") }
        cache?.load(cached)
        cachedState = cached
        loadSeconds = loadStart.duration(to: .now).seconds
        showSteps = args.has("--show-steps")
        if let path = args.string("--trace") {
            guard !path.isEmpty else { throw UsageError("--trace needs a file path, got an empty string") }
            do { trace = try TraceWriter(path: path, tokenizer: model.tokenizer) } catch { throw Failure(error.description) }
        } else {
            trace = nil
        }
    }

    /// What `--trace` and `--show-steps` do with each step; nil when neither is asked for, so
    /// that the generator builds no step reports at all.
    func stepObserver() -> ((StepReport) -> Void)? {
        guard trace != nil || showSteps else { return nil }
        var number = 0
        // On a terminal the text streams on the same screen: start each line on its own.
        let prefix = isatty(1) != 0 && isatty(2) != 0 ? "\n" : ""
        return { [trace, showSteps, tokenizer = model.tokenizer] report in
            trace?.step(report)
            if showSteps { Output.log(prefix + stepLine(report, number: number, tokenizer: tokenizer)) }
            number += 1
        }
    }

    /// A trace that could not be written is an error, reported after the text and the saved
    /// state, which it must not cost.
    func checkTrace() throws {
        if let failure = trace?.failure { throw Failure(failure) }
    }

    /// A generator with a KV cache of `positions`; a context this machine cannot hold is an
    /// error, before anything is allocated for it.
    func generator(context positions: Int) throws -> Generator {
        do { return try Generator(model: model, contextLength: positions, threads: threads) } catch {
            throw Failure("\(error); lower --context")
        }
    }

    /// Saves what the drafter learned (at exit, interrupted or not): to the state cache, where
    /// a failure is a warning, then to the `--matrix` file, where it is an error.
    func saveState() throws {
        cache?.save(cachedState)
        guard let matrixLock, let matrix else { return }
        do {
            try MatrixFile.writeAtomically(matrix.encoded(), path: matrixLock.target)
        } catch {
            throw Failure(error.description)
        }
    }

    /// The system message for a chat: `--system TEXT`, none for `--system none`, else the model's.
    func systemPrompt(_ args: Arguments) -> (message: ChatMessage?, fallback: String?) {
        guard let system = args.string("--system") else { return (nil, model.defaultSystemPrompt) }
        return system == "none" ? (nil, nil) : (ChatMessage(role: "system", content: system), nil)
    }
}
