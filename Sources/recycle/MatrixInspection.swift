import Glibc
import RecycleArguments
import RecycleDecoding
import RecycleModel
import RecycleTools

/// `recycle inspect MATRIX [--token IDS] [--text TEXT] [-m MODEL]`: what a saved Token
/// Recycling matrix holds (a `--matrix` file, or the state cache's), row by row with each
/// token's text, so that a learner can see what the recycler has learned.
struct MatrixInspection {
    let path: String
    let args: Arguments

    func run() throws {
        let bytes: [UInt8]
        do { bytes = try MatrixFile.read(path: path) } catch { throw Failure(error.description) }
        guard let (k, vocabulary) = MatrixFile.shape(of: bytes) else { throw Failure(MatrixFile.Error.notAMatrixFile(path).description) }
        let rows: [Int32]
        do { rows = try MatrixFile.decode(bytes, source: path, vocabularySize: vocabulary, k: k) } catch { throw Failure(error.description) }
        let filled = stride(from: 0, to: rows.count, by: k).filter { rows[$0..<($0 + k)].contains { $0 != 0 } }.count
        var lines = [
            "matrix:        \(path) (\(bytes.count) bytes, format version 1, checksum OK)",
            "shape:         \(vocabulary) rows (the vocabulary) x k = \(k) candidates, best first",
            "filled:        \(filled) rows (\(fixed(100 * Double(filled) / Double(vocabulary), 2))%); the others are all token 0, never seen",
        ]
        let tokens = try requestedTokens(vocabulary: vocabulary)
        if !tokens.isEmpty {
            let model = try loadModel()
            guard model.config.vocabSize == vocabulary else {
                throw Failure("the model has \(model.config.vocabSize) tokens, the matrix \(vocabulary) rows: not its matrix")
            }
            func shown(_ id: Int32) -> String { quotedToken(tokenText(id, model.tokenizer)) + " (\(id))" }
            lines.append("rows:")
            for token in tokens {
                let row = rows[(Int(token) * k)..<((Int(token) + 1) * k)]
                let candidates = row.allSatisfy { $0 == 0 } ? "never seen (all token 0)" : row.map(shown).joined(separator: ", ")
                lines.append("  \(shown(token)) -> \(candidates)")
            }
        } else {
            lines.append("(--token ID[,ID...] or --text TEXT shows rows, with the model's token texts)")
        }
        try Output.write(lines.joined(separator: "\n") + "\n")
    }

    /// `--token` ids, then the tokens of `--text`, in order.
    private func requestedTokens(vocabulary: Int) throws -> [Int32] {
        var tokens = try args.ints("--token", default: [], in: 0...(vocabulary - 1)).map(Int32.init)
        if let text = args.string("--text") { tokens += try loadModel().tokenizer.encode(text, parseSpecialTokens: false) }
        return tokens
    }

    private func loadModel() throws -> Model {
        let path: String
        if let given = args.string("--model") { path = given } else {
            do { path = try DefaultModel.locate() } catch { throw Failure(error.description) }
        }
        do { return try Model(path: path) } catch { throw Failure(error.description) }
    }
}
