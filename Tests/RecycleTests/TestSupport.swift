import Foundation
import RecycleModel
import XCTest

/// The repository root (this file is Tests/RecycleTests/TestSupport.swift).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

/// The real default model, made by `weights-tools/fetch-default` (the README's test command
/// runs it first). `RECYCLE_MODEL` overrides the path.
func defaultModelPath() throws -> String {
    let path = ProcessInfo.processInfo.environment["RECYCLE_MODEL"]
        ?? repositoryRoot.appendingPathComponent("models/SmolLM2-135M-Instruct-Q4_1.rcyl").path
    guard FileManager.default.fileExists(atPath: path) else {
        throw TestSetupError.missingModel(path)
    }
    return path
}

/// The real Gemma 3 270M model, made by `weights-tools/fetch-model gemma3-270m` and the
/// converter. `RECYCLE_GEMMA_MODEL` overrides the path.
func gemmaModelPath() throws -> String {
    let path = ProcessInfo.processInfo.environment["RECYCLE_GEMMA_MODEL"]
        ?? repositoryRoot.appendingPathComponent("models/gemma-3-270m-Q4_K_M.rcyl").path
    guard FileManager.default.fileExists(atPath: path) else {
        throw TestSetupError.missingModel(path)
    }
    return path
}

enum TestSetupError: Error, CustomStringConvertible {
    case missingModel(String)
    case missingFixture(String)
    case referenceFailed(String)

    var description: String {
        switch self {
        case let .missingModel(p): "the model is missing at \(p): run weights-tools/fetch-default (or fetch-model) first"
        case let .missingFixture(n): "fixture \(n) is missing"
        case let .referenceFailed(why): "weights-tools/reference.py failed: \(why)"
        }
    }
}

/// The model is loaded once and shared by every test (it is immutable once loaded).
private let sharedModel = Result { try Model(path: defaultModelPath()) }

func defaultModel() throws -> Model { try sharedModel.get() }

func defaultTokenizerSpec() throws -> TokenizerSpec { try defaultModel().file.metadata.tokenizer }

/// What the Gemma tests read from the model file's metadata.
struct GemmaMetadata: Decodable {
    var tokenizer: TokenizerSpec
    var chatTemplate: String?

    private enum CodingKeys: String, CodingKey {
        case tokenizer, chatTemplate = "chat_template"
    }
}

/// The Gemma model file's metadata, read from the section the header points at
/// (docs/FORMAT.md) rather than through `WeightsFile`, so that the tokenizer tests need
/// only the tokenizer, not a loader for the whole architecture. Decoded once.
func gemmaMetadata() throws -> GemmaMetadata { try sharedGemmaMetadata.get() }

private let sharedGemmaMetadata = Result { () throws -> GemmaMetadata in
    let data = try Data(contentsOf: URL(fileURLWithPath: gemmaModelPath()), options: .alwaysMapped)
    func u64(_ offset: Int) -> Int {
        Int(data[offset..<(offset + 8)].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }
    let start = u64(16), length = u64(24)
    return try JSONDecoder().decode(GemmaMetadata.self, from: data[start..<(start + length)])
}

/// A reference fixture from ../shared/fixtures (copied into Tests/RecycleTests/Fixtures);
/// `folder` names a subfolder such as "gemma3".
func fixture(_ name: String, folder: String? = nil) throws -> [String: Any] {
    let subdirectory = folder.map { "Fixtures/\($0)" } ?? "Fixtures"
    guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: subdirectory) else {
        throw TestSetupError.missingFixture(name)
    }
    return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
}
