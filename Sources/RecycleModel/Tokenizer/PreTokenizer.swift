/// Splits text into the pieces that BPE encodes independently, so that merges never
/// cross a word, number or whitespace boundary.
///
/// Written as a hand scanner rather than a `Regex` because it runs over every prompt and
/// `Regex` is far slower. It works on Unicode scalars, as the reference implementations
/// (Hugging Face tokenizers, llama.cpp) do.
public enum PreTokenizer: String, Sendable {
    /// SmolLM2's rule (HF `Sequence[Digits(individual_digits: true), ByteLevel(use_regex:
    /// true)]`, llama.cpp's SMOLLM): every number scalar (`\p{N}`) is a piece of its own,
    /// and the text between them is split by GPT-2's pattern
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    case smollm

    /// The pieces of `text`, for inspection and tests.
    public func pieces(of text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var pieces: [String] = []
        forEachPiece(in: scalars[...]) { range in
            var piece = String.UnicodeScalarView()
            piece.append(contentsOf: scalars[range])
            pieces.append(String(piece))
        }
        return pieces
    }

    /// Calls `body` with the index range of each piece of `scalars`, in order.
    func forEachPiece(in scalars: ArraySlice<Unicode.Scalar>, _ body: (Range<Int>) -> Void) {
        var segmentStart = scalars.startIndex
        for index in scalars.indices where ScalarClass(scalars[index]) == .number {
            forEachGPT2Piece(in: scalars, segment: segmentStart..<index, body)
            body(index..<index + 1)
            segmentStart = index + 1
        }
        forEachGPT2Piece(in: scalars, segment: segmentStart..<scalars.endIndex, body)
    }

    /// GPT-2's pattern applied to `segment` alone: its end counts as the end of the text
    /// (for `\s+(?!\S)`), as the reference implementations split the segments apart first.
    private func forEachGPT2Piece(
        in scalars: ArraySlice<Unicode.Scalar>, segment: Range<Int>, _ body: (Range<Int>) -> Void
    ) {
        var start = segment.lowerBound
        while start < segment.upperBound {
            let end = pieceEnd(in: scalars, from: start, limit: segment.upperBound)
            body(start..<end)
            start = end
        }
    }

    /// The end of the GPT-2 piece that starts at `start`, trying the pattern's
    /// alternatives in order.
    private func pieceEnd(in scalars: ArraySlice<Unicode.Scalar>, from start: Int, limit: Int) -> Int {
        if scalars[start] == "'", let length = contractionLength(in: scalars, at: start, limit: limit) {
            return start + length
        }
        // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional plain space, then a run.
        var runStart = start
        if scalars[start] == " ", start + 1 < limit, ScalarClass(scalars[start + 1]) != .whitespace {
            runStart = start + 1
        }
        let runClass = ScalarClass(scalars[runStart])
        let runEnd = end(ofRunOf: runClass, in: scalars, from: runStart, limit: limit)
        guard runClass == .whitespace else { return runEnd }
        // `\s+(?!\S)` backtracks to leave the run's last scalar before non-space text, so
        // that a following word can take a plain space; a single scalar falls to `\s+`.
        if runEnd == limit || runEnd - start == 1 { return runEnd }
        return runEnd - 1
    }

    /// The length of the contraction (`'s`, `'t`, `'re`, `'ve`, `'m`, `'ll`, `'d`,
    /// lowercase only) at the apostrophe at `index`, if there is one.
    private func contractionLength(in scalars: ArraySlice<Unicode.Scalar>, at index: Int, limit: Int) -> Int? {
        guard index + 1 < limit else { return nil }
        switch scalars[index + 1] {
        case "s", "t", "m", "d":
            return 2
        case "r", "v", "l":
            guard index + 2 < limit else { return nil }
            let expected: Unicode.Scalar = scalars[index + 1] == "l" ? "l" : "e"
            return scalars[index + 2] == expected ? 3 : nil
        default:
            return nil
        }
    }

    private func end(
        ofRunOf runClass: ScalarClass, in scalars: ArraySlice<Unicode.Scalar>, from start: Int, limit: Int
    ) -> Int {
        var index = start + 1
        while index < limit, ScalarClass(scalars[index]) == runClass {
            index += 1
        }
        return index
    }
}

/// The character classes the pre-tokenizer's pattern distinguishes.
enum ScalarClass: UInt8 {
    /// `\p{L}`: general categories Lu, Ll, Lt, Lm, Lo.
    case letter
    /// `\p{N}`: general categories Nd, Nl, No.
    case number
    /// `\s`: the Unicode White_Space property, as in Oniguruma and PCRE with Unicode.
    case whitespace
    /// Everything else (`[^\s\p{L}\p{N}]`): punctuation, symbols, marks, controls.
    case other

    init(_ scalar: Unicode.Scalar) {
        self = scalar.value < 0x80 ? Self.ascii[Int(scalar.value)] : Self(classifying: scalar)
    }

    /// ASCII dominates most text; a table avoids the Unicode property lookups for it.
    private static let ascii: [ScalarClass] = (0..<0x80).map { Self(classifying: Unicode.Scalar(UInt8($0))) }

    private init(classifying scalar: Unicode.Scalar) {
        let properties = scalar.properties
        if properties.isWhitespace {
            self = .whitespace
            return
        }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            self = .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            self = .number
        default:
            self = .other
        }
    }
}
