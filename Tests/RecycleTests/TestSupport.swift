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

enum TestSetupError: Error, CustomStringConvertible {
    case missingModel(String)
    case missingFixture(String)
    case referenceFailed(String)

    var description: String {
        switch self {
        case let .missingModel(p): "the default model is missing at \(p): run weights-tools/fetch-default first"
        case let .missingFixture(n): "fixture \(n) is missing"
        case let .referenceFailed(why): "weights-tools/reference.py failed: \(why)"
        }
    }
}

/// The model is loaded once and shared by every test (it is immutable once loaded).
private let sharedModel = Result { try Model(path: defaultModelPath()) }

func defaultModel() throws -> Model { try sharedModel.get() }

func defaultTokenizerSpec() throws -> TokenizerSpec { try defaultModel().file.metadata.tokenizer }

/// A reference fixture from ../shared/fixtures (copied into Tests/RecycleTests/Fixtures).
func fixture(_ name: String) throws -> [String: Any] {
    guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures") else {
        throw TestSetupError.missingFixture(name)
    }
    return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
}
