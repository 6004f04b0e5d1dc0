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

/// `recycle inspect PATH [--verify]`: what a weights file holds, and whether it is intact;
/// or what a Token Recycling matrix file holds (`MatrixInspection`).
struct InspectCommand {
    static let options: [Arguments.Option] = [
        .init(names: ["--verify"], kind: .flag),
        .init(names: ["--token"], kind: .value),
        .init(names: ["--text"], kind: .value),
        .init(names: ["--model", "-m"], kind: .value),
        .init(names: ["--help", "-h"], kind: .flag),
    ]

    let args: Arguments

    init(_ args: Arguments) { self.args = args }

    func run() throws {
        if args.has("--help") { try Output.write(usage + "\n"); return }
        guard args.positionals.count == 1, let path = args.positionals.first else {
            throw UsageError("inspect needs exactly one file path (weights or matrix)")
        }
        if MatrixFile.hasMagic(firstBytes(of: path, count: 8)) { return try MatrixInspection(path: path, args: args).run() }
        if args.string("--token") != nil || args.string("--text") != nil || args.string("--model") != nil {
            throw UsageError("--token, --text and --model are for matrix files; \(path) is not one")
        }
        let file: WeightsFile
        do { file = try WeightsFile(path: path) } catch { throw Failure(error.description) }
        let m = file.metadata, c = m.config
        var lines: [String] = []
        lines.append("file:          \(path) (\(file.fileSize) bytes, format version 1)")
        lines.append("architecture:  \(m.architecture)")
        lines.append("config:        layers \(c.layers), d_model \(c.modelDim), heads \(c.heads) (kv \(c.kvHeads)) x \(c.headDim), ffn \(c.ffnDim)")
        lines.append("               vocab \(c.vocabSize), context \(c.contextLength), rope theta \(c.ropeTheta) (\(c.ropePairing) pairs), rms eps \(c.rmsNormEps), tied embeddings \(c.tiedEmbeddings)")
        if let window = c.slidingWindow {
            let full = (0..<c.layers).filter { c.window(layer: $0) == nil }.map(String.init).joined(separator: ", ")
            lines.append("               sliding window \(window) (full attention on layers \(full)), rope theta sliding \(c.ropeThetaSliding ?? c.ropeTheta)")
        }
        lines.append("               activation \(c.feedForwardActivation.rawValue), attention scale \(c.attentionScale ?? 1 / Double(c.headDim).squareRoot()), embedding scale \(c.embeddingScale ?? 1)")
        let tables = m.tokenizer.merges.map { "\($0.count) merges" } ?? "\(m.tokenizer.scores?.count ?? 0) scores"
        let model = m.tokenizer.preTokenizer.map { "\(m.tokenizer.model) / \($0)" } ?? m.tokenizer.model
        lines.append("tokenizer:     \(model), \(m.tokenizer.tokens.count) tokens, \(tables), bos \(m.tokenizer.bosID), eos \(m.tokenizer.eosID)")
        lines.append("chat template: \(m.chatTemplate ?? "none")")
        lines.append("tensors:       \(file.tensors.count)")
        var byType: [String: (count: Int, bytes: Int)] = [:]
        for t in file.tensors {
            byType[t.dtype.rawValue, default: (0, 0)].count += 1
            byType[t.dtype.rawValue, default: (0, 0)].bytes += t.length
            let name = padded(t.name, 28)
            let dtype = padded(t.dtype.rawValue, 5)
            let shape = padded("\(t.shape)", 14)
            lines.append("  \(name) \(dtype) \(shape) offset \(t.fileOffset), \(t.length) bytes")
        }
        for (dtype, s) in byType.sorted(by: { $0.key < $1.key }) {
            lines.append("  total \(dtype): \(s.count) tensors, \(s.bytes) bytes")
        }
        if args.has("--verify") {
            do {
                try file.verifyChecksum()
                lines.append("checksum:      OK (CRC-32 \(String(file.storedChecksum, radix: 16)))")
            } catch {
                lines.append("checksum:      FAILED")
                try Output.write(lines.joined(separator: "\n") + "\n")
                throw Failure(error.description)
            }
        } else {
            lines.append("checksum:      stored CRC-32 \(String(file.storedChecksum, radix: 16)) (not checked; use --verify)")
        }
        try Output.write(lines.joined(separator: "\n") + "\n")
    }
}

/// The first `count` bytes of a file (fewer if it is shorter or unreadable: the full read
/// that follows reports why).
private func firstBytes(of path: String, count: Int) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
    guard fd >= 0 else { return [] }
    defer { close(fd) }
    var bytes = [UInt8](repeating: 0, count: count)
    let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, count) }
    return n > 0 ? Array(bytes[0..<n]) : []
}
