/// Why a weights file was refused. Every case names the part of the file at fault.
public enum WeightsFileError: Error, Equatable, CustomStringConvertible {
    /// The file could not be opened or mapped, or is not a regular file.
    case cannotOpen(path: String, reason: String)
    /// The file is shorter than the 128-byte header.
    case tooSmall(size: Int)
    /// The file does not start with "RCYLWTS\0".
    case badMagic
    /// A format version other than 1.
    case unsupportedVersion(UInt32)
    /// A header field with a value this version does not allow.
    case badHeader(String)
    /// A section outside the file, out of order or empty; or a size other than the header's.
    case sectionOutOfBounds(String)
    /// The metadata or tensor directory (`section`) is not UTF-8 JSON of the expected form.
    case invalidJSON(section: String, detail: String)
    /// A directory entry with an unknown dtype, a bad shape or length, or a bad offset.
    case invalidTensor(name: String, problem: String)
    /// Two directory entries with the same name.
    case duplicateTensor(String)
    /// Two tensors whose bytes overlap.
    case overlappingTensors(String, String)
    /// A tensor the model needs is not in the directory.
    case missingTensor(String)
    /// A tensor the model never reads: the config disagrees with what the file holds.
    case unexpectedTensor(name: String, layers: Int, architecture: String)
    /// A tensor's shape differs from what the config implies.
    case wrongShape(name: String, expected: [Int], found: [Int])
    /// A tensor in an encoding the model cannot use there (norm weights must be f32).
    case wrongDType(name: String, expected: String, found: String)
    /// An architecture the runtime does not know (see `Architecture`).
    case unsupportedArchitecture(String)
    /// A chat template name the runtime does not know (see `ChatTemplate`).
    case unsupportedChatTemplate(String)
    /// A config value out of range or inconsistent with another (docs/FORMAT.md, "Metadata").
    case invalidConfig(String)
    /// A tokenizer the metadata describes wrongly (see `TokenizerError`), or whose vocabulary
    /// size differs from the config's.
    case invalidTokenizer(String)
    /// The CRC-32 of the bytes after the header is not the stored one (`verifyChecksum`).
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
        case let .unexpectedTensor(name, layers, architecture):
            "tensor \"\(name)\" is not part of a \(layers)-layer \(architecture) model with this config (is n_layers wrong?)"
        case let .wrongShape(name, expected, found): "tensor \"\(name)\" has shape \(found), expected \(expected)"
        case let .wrongDType(name, expected, found): "tensor \"\(name)\" is \(found), expected \(expected)"
        case let .unsupportedArchitecture(a): "unsupported architecture \"\(a)\" (supported: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .unsupportedChatTemplate(t): "unsupported chat template \"\(t)\" (supported: chatml, gemma3)"
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
