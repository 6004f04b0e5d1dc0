import Foundation
import RecycleDecoding
import RecycleKernels
import RecycleModel
import XCTest

/// The repository root (this file is Tests/RecycleTests/TestSupport.swift).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

/// The real default model, made by `weights-tools/fetch-default` (the README's test command
/// runs it first). `RECYCLE_MODEL` overrides the path.
func defaultModelPath() throws -> String {
    try modelPath(environment: "RECYCLE_MODEL", file: "SmolLM2-135M-Instruct-Q4_1.rcyl", fetch: "weights-tools/fetch-default")
}

/// Gemma 3 270M, made by `weights-tools/fetch-model gemma3-270m` (also in the README's test
/// command). `RECYCLE_GEMMA_MODEL` overrides the path.
func gemmaModelPath() throws -> String {
    try modelPath(environment: "RECYCLE_GEMMA_MODEL", file: "gemma-3-270m-Q4_K_M.rcyl", fetch: "weights-tools/fetch-model gemma3-270m")
}

private func modelPath(environment: String, file: String, fetch: String) throws -> String {
    let path = ProcessInfo.processInfo.environment[environment] ?? repositoryRoot.appendingPathComponent("models/" + file).path
    guard FileManager.default.fileExists(atPath: path) else { throw TestSetupError.missingModel(path, fetch: fetch) }
    return path
}

enum TestSetupError: Error, CustomStringConvertible {
    case missingModel(String, fetch: String)
    case missingFixture(String)
    case referenceFailed(String)

    var description: String {
        switch self {
        case let .missingModel(p, fetch): "the model is missing at \(p): run \(fetch) first"
        case let .missingFixture(n): "fixture \(n) is missing"
        case let .referenceFailed(why): "weights-tools/reference.py failed: \(why)"
        }
    }
}

/// The model is loaded once and shared by every test (it is immutable once loaded).
private let sharedModel = Result { try Model(path: defaultModelPath()) }

func defaultModel() throws -> Model { try sharedModel.get() }

private let sharedGemma = Result { try Model(path: gemmaModelPath()) }

/// Gemma 3 270M, loaded once and shared like the default model.
func gemmaModel() throws -> Model { try sharedGemma.get() }

func defaultTokenizerSpec() throws -> TokenizerSpec { try defaultModel().file.metadata.tokenizer }

/// Gemma 3's weights file, opened once: what the tokenizer tests read (its metadata) without
/// loading the model.
func gemmaFile() throws -> WeightsFile { try sharedGemmaFile.get() }

private let sharedGemmaFile = Result { try WeightsFile(path: gemmaModelPath()) }

/// A reference fixture from ../shared/fixtures (copied into Tests/RecycleTests/Fixtures);
/// `folder` names a subfolder such as "gemma3".
func fixture(_ name: String, folder: String? = nil) throws -> [String: Any] {
    let subdirectory = folder.map { "Fixtures/\($0)" } ?? "Fixtures"
    guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: subdirectory) else {
        throw TestSetupError.missingFixture(name)
    }
    return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
}

/// Logits of every position of `tokens` from weights-tools/reference.py (float64 numpy) on
/// the model file at `model`, its matmul inputs quantized as the runtime's `precision`.
func referenceLogits(_ tokens: [Int32], model: String, precision: InputPrecision) throws -> [Float] {
    let python = repositoryRoot.appendingPathComponent("weights-tools/.venv/bin/python")
    guard FileManager.default.isExecutableFile(atPath: python.path) else {
        throw TestSetupError.referenceFailed("no venv at \(python.path): run weights-tools/fetch-default first")
    }
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("reference-\(UUID().uuidString).f32")
    defer { try? FileManager.default.removeItem(at: out) }
    let process = Process()
    process.executableURL = python
    process.arguments = [repositoryRoot.appendingPathComponent("weights-tools/reference.py").path,
                         model, "--tokens", tokens.map(String.init).joined(separator: ","), "--out", out.path,
                         "--inputs", precision == .fine ? "fine" : "adaptive"]
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw TestSetupError.referenceFailed("exit status \(process.terminationStatus)") }
    let data = try Data(contentsOf: out)
    return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
}

/// One greedy step of a Hugging Face fixture: the token HF chose, its top-1/top-2 margin,
/// and its top-5 ids with their logits.
struct FixtureStep {
    var token: Int32
    var margin: Double
    var top5: [(id: Int, logit: Double)]
}

/// Greedy decoding of `model` (its matmul inputs at `precision`) from `prompt`, checked
/// against HF's `steps`: the same token at every step, or a first difference where HF's
/// margin is below `nearTie`, and top-5 logits within `tolerance` of HF's until then.
/// Prints what it found, for the record.
func checkGreedy(_ name: String, model: Model, precision: InputPrecision, prompt: [Int32], steps: [FixtureStep],
                 nearTie: Double, tolerance: Double) throws {
    let transformer = Transformer(weights: model.weights, contextLength: prompt.count + steps.count, threads: 2,
                                  precision: precision)
    var logits = try transformer.forward(prompt)
    var maxDiff = 0.0
    for (n, step) in steps.enumerated() {
        let token = logits.withUnsafeBufferPointer { Int32(argmax($0)) }
        if token != step.token {
            print("\(name) (\(precision)): first difference from HF at step \(n), HF margin \(step.margin)")
            XCTAssertLessThan(step.margin, nearTie, "\(name) diverges from HF at step \(n), which is not a near-tie")
            break
        }
        for (id, hf) in step.top5 {
            maxDiff = max(maxDiff, abs(Double(logits[id]) - hf))
            XCTAssertEqual(Double(logits[id]), hf, accuracy: tolerance, "\(name) step \(n) token \(id)")
        }
        if n == steps.count - 1 { print("\(name) (\(precision)): all \(steps.count) greedy tokens equal HF's") }
        logits = try transformer.forward([token])
    }
    print("\(name) (\(precision)): max |top-5 logit difference| vs HF until then: \(maxDiff)")
}

/// One 32-element block of a matmul input as the integer matmul quantizes it, written out
/// from docs/FORMAT.md ("Matmul arithmetic"), independently of the kernels: `x ≈ scale * q`,
/// `|q| <= 127` where the block takes 8 bits, `<= 16383` where it takes 15.
func quantizedInputBlock(_ block: ArraySlice<Float>, _ precision: InputPrecision) -> (scale: Float, q: [Int], eightBit: Bool) {
    precondition(block.count == 32)
    let x = Array(block), magnitudes = x.map(abs)
    let amax = magnitudes.max()!
    // Σ|x| in the kernel's order: lane i + lane i + 16, then halves again down to one.
    var partial = (0..<16).map { magnitudes[$0] + magnitudes[$0 + 16] }
    while partial.count > 1 {
        let half = partial.count / 2
        partial = (0..<half).map { partial[$0] + partial[$0 + half] }
    }
    let eightBit = precision == .adaptive && amax * 32 <= 5 * partial[0]
    let scale = amax / (eightBit ? 127 : 16383)
    let inverse: Float = scale > 0 ? 1 / scale : 0
    return (scale, x.map { Int(($0 * inverse).rounded(.toNearestOrEven)) }, eightBit)
}

/// A drafter that hands `inner` a modelled pass time instead of the measured one, so that a
/// drafter sized by cost (auto trees, hybrid) decides the same way however busy the machine
/// is: a test of exactness must not depend on timing. A pass of `n` nodes is modelled as
/// costing `1 + 0.15 (n - 1)` one-node passes of 10 ms (two threads on the development
/// machines measure 0.12-0.35 per extra node); everything else is passed through.
final class ModelledPassTime: Drafter {
    let inner: Drafter

    init(_ inner: Drafter) { self.inner = inner }

    var name: String { inner.name }
    var drafts: Bool { inner.drafts }
    var settings: [(name: String, value: String)] { inner.settings }
    var candidatesPerNode: Int { inner.candidatesPerNode }
    var learnsFromPrompt: Bool { inner.learnsFromPrompt }
    func begin(context: [Int32]) { inner.begin(context: context) }
    func observePrompt(tokens: [Int32], candidates: [Int32]) { inner.observePrompt(tokens: tokens, candidates: candidates) }
    func draft(root: Int32, context: [Int32]) -> DraftTree { inner.draft(root: root, context: context) }
    func observe(_ v: Verification) {
        let seconds = 0.010 * (1 + 0.15 * Double(v.tree.count - 1))
        inner.observe(Verification(tree: v.tree, acceptedPath: v.acceptedPath, produced: v.produced, candidates: v.candidates,
                                   candidatesPerNode: v.candidatesPerNode, context: v.context, seconds: seconds))
    }
    var persistentState: [any PersistentState] { inner.persistentState }
    var lastRewrites: [RowRewrite] { inner.lastRewrites }
    var lastSizing: TreeSizing? { inner.lastSizing }
}
