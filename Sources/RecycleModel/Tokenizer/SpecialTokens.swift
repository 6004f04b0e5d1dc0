/// Finds special tokens (GGUF types control and user-defined) in text. They are matched
/// literally before pre-tokenization, so that "<|im_end|>" in a prompt is one token rather
/// than the BPE of its characters.
struct SpecialTokenMatcher: Sendable {
    private struct Candidate: Sendable {
        var scalars: [Unicode.Scalar]
        var id: Int32
    }

    /// Candidates by first scalar, longest first, so the first that matches is the
    /// longest (as in Hugging Face tokenizers); among equal texts the lowest id wins.
    private var candidatesByFirstScalar: [Unicode.Scalar: [Candidate]] = [:]

    init(tokens: [(text: String, id: Int32)]) {
        for (text, id) in tokens {
            let scalars = Array(text.unicodeScalars)
            guard let first = scalars.first else { continue }
            candidatesByFirstScalar[first, default: []].append(Candidate(scalars: scalars, id: id))
        }
        for first in candidatesByFirstScalar.keys {
            candidatesByFirstScalar[first]!.sort {
                $0.scalars.count != $1.scalars.count ? $0.scalars.count > $1.scalars.count : $0.id < $1.id
            }
        }
    }

    /// The special token whose text starts at `index`, and its length in scalars.
    func match(in scalars: [Unicode.Scalar], at index: Int) -> (id: Int32, length: Int)? {
        guard let candidates = candidatesByFirstScalar[scalars[index]] else { return nil }
        for candidate in candidates where scalars[index...].starts(with: candidate.scalars) {
            return (candidate.id, candidate.scalars.count)
        }
        return nil
    }
}
