import Foundation
import RecycleArguments
import RecycleModel

/// `recycle inspect PATH [--verify]`: what a weights file holds, and whether it is intact.
struct InspectCommand {
    static let options: [Arguments.Option] = [
        .init(names: ["--verify"], kind: .flag),
        .init(names: ["--help", "-h"], kind: .flag),
    ]

    let args: Arguments

    init(_ args: Arguments) { self.args = args }

    func run() throws {
        if args.has("--help") { print(usage); return }
        guard args.positionals.count == 1, let path = args.positionals.first else {
            throw UsageError("inspect needs exactly one weights file path")
        }
        let file: WeightsFile
        do { file = try WeightsFile(path: path) } catch { throw Failure(error.description) }
        let m = file.metadata, c = m.config
        print("file:          \(path) (\(file.fileSize) bytes, format version 1)")
        print("architecture:  \(m.architecture)")
        print("config:        layers \(c.layers), d_model \(c.modelDim), heads \(c.heads) (kv \(c.kvHeads)) x \(c.headDim), ffn \(c.ffnDim)")
        print("               vocab \(c.vocabSize), context \(c.contextLength), rope theta \(c.ropeTheta) (\(c.ropePairing) pairs), rms eps \(c.rmsNormEps), tied embeddings \(c.tiedEmbeddings)")
        print("tokenizer:     \(m.tokenizer.model) / \(m.tokenizer.preTokenizer), \(m.tokenizer.tokens.count) tokens, \(m.tokenizer.merges.count) merges, bos \(m.tokenizer.bosID), eos \(m.tokenizer.eosID)")
        print("chat template: \(m.chatTemplate ?? "none")")
        print("tensors:       \(file.tensors.count)")
        var byType: [String: (count: Int, bytes: Int)] = [:]
        for t in file.tensors {
            byType[t.dtype.rawValue, default: (0, 0)].count += 1
            byType[t.dtype.rawValue, default: (0, 0)].bytes += t.length
            let name = t.name.padding(toLength: 28, withPad: " ", startingAt: 0)
            let dtype = t.dtype.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0)
            let shape = "\(t.shape)".padding(toLength: 14, withPad: " ", startingAt: 0)
            print("  \(name) \(dtype) \(shape) offset \(t.fileOffset), \(t.length) bytes")
        }
        for (dtype, s) in byType.sorted(by: { $0.key < $1.key }) {
            print("  total \(dtype): \(s.count) tensors, \(s.bytes) bytes")
        }
        if args.has("--verify") {
            do {
                try file.verifyChecksum()
                print("checksum:      OK (CRC-32 \(String(file.storedChecksum, radix: 16)))")
            } catch {
                print("checksum:      FAILED")
                throw Failure(error.description)
            }
        } else {
            print("checksum:      stored CRC-32 \(String(file.storedChecksum, radix: 16)) (not checked; use --verify)")
        }
    }
}
