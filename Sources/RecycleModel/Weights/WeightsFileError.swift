/// Why a weights file was refused. Every case names the part of the file at fault.
public enum WeightsFileError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case tooSmall(size: Int)
    case badMagic
    case unsupportedVersion(UInt32)
    case badHeader(String)
    case sectionOutOfBounds(String)
    case invalidJSON(section: String, detail: String)
    case invalidTensor(name: String, problem: String)
    case duplicateTensor(String)
    case overlappingTensors(String, String)
    case missingTensor(String)
    /// A tensor the model never reads: the config disagrees with what the file holds.
    case unexpectedTensor(name: String, layers: Int)
    case wrongShape(name: String, expected: [Int], found: [Int])
    case wrongDType(name: String, expected: String, found: String)
    case unsupportedArchitecture(String)
    case unsupportedChatTemplate(String)
    case invalidConfig(String)
    case invalidTokenizer(String)
    case checksumMismatch(stored: UInt32, computed: UInt32)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): "cannot open weights file \(path): \(reason)"
        case let .tooSmall(size): "not a weights file: \(size) bytes is smaller than the 128-byte header"
        case .badMagic: "not a .rcyl weights file (bad magic bytes; expected \"RCYLWTS\\0\")"
        case let .unsupportedVersion(v): "unsupported weights format version \(v) (this build reads version 1)"
        case let .badHeader(why): "corrupt header: \(why)"
        case let .sectionOutOfBounds(why): "corrupt file: \(why)"
        case let .invalidJSON(section, detail): "corrupt \(section): \(detail)"
        case let .invalidTensor(name, problem): "tensor \"\(name)\": \(problem)"
        case let .duplicateTensor(name): "tensor \"\(name)\" appears twice in the directory"
        case let .overlappingTensors(a, b): "tensors \"\(a)\" and \"\(b)\" overlap"
        case let .missingTensor(name): "missing tensor \"\(name)\""
        case let .unexpectedTensor(name, layers):
            "tensor \"\(name)\" is not part of a \(layers)-layer llama model with this config (is n_layers wrong?)"
        case let .wrongShape(name, expected, found): "tensor \"\(name)\" has shape \(found), expected \(expected)"
        case let .wrongDType(name, expected, found): "tensor \"\(name)\" is \(found), expected \(expected)"
        case let .unsupportedArchitecture(a): "unsupported architecture \"\(a)\" (supported: llama)"
        case let .unsupportedChatTemplate(t): "unsupported chat template \"\(t)\" (supported: chatml)"
        case let .invalidConfig(why): "invalid model config: \(why)"
        case let .invalidTokenizer(why): "invalid tokenizer: \(why)"
        case let .checksumMismatch(stored, computed):
            "checksum mismatch: header says \(hex(stored)), data gives \(hex(computed)); the file is corrupt"
        }
    }
}

private func hex(_ v: UInt32) -> String {
    let digits = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
