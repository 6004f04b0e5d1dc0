/// Token Recycling (Luo et al., arXiv 2408.08696): reuse the runner-up tokens that every
/// verification pass computes anyway.
///
/// An adjacency matrix holds, for every token of the vocabulary, the top-`k` tokens the model
/// last predicted after it (zeros until seen). A draft tree is filled breadth-first along a
/// tree template, starting from the root token: the node at rank path `[r0, r1]` is row
/// `matrix[matrix[root][r0]]` at column `r1`. After verification, the row of every tree node's
/// token is overwritten with the top-`k` of that node's logits, so the matrix keeps learning
/// from the model's own predictions, across prompts when the start is hot.
public final class TokenRecycler: Drafter {
    public enum Start: String, Sendable {
        /// The matrix persists across prompts and turns (the paper's default).
        case hot
        /// The matrix is reset for every prompt, then seeded from the prompt's own top-k.
        case cold
    }

    public let k: Int
    public let vocabularySize: Int
    public var template: TreeTemplate
    public let start: Start
    /// `vocabularySize` rows of `k` token ids.
    public private(set) var matrix: [Int32]

    public init(vocabularySize: Int, k: Int = 8, template: TreeTemplate, start: Start = .hot) {
        precondition(k >= 1 && vocabularySize >= 1)
        self.k = k
        self.vocabularySize = vocabularySize
        self.template = template
        self.start = start
        matrix = [Int32](repeating: 0, count: vocabularySize * k)
    }

    public var name: String { "recycle" }
    public var candidatesPerNode: Int { k }
    /// Cold start asks for the prompt's own candidates (see `Generator`).
    public var seedsFromPrompt: Bool { start == .cold }

    public func begin(context: [Int32]) {
        if start == .cold { matrix.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
    }

    public func draft(root: Int32, context: [Int32]) -> DraftTree {
        var tree = DraftTree(root: root)
        for (path, parent) in zip(template.paths, template.parents) {
            let parentToken = tree.tokens[parent + 1]
            tree.add(matrix[Int(parentToken) * k + path[path.count - 1]], parent: parent + 1)
        }
        return tree
    }

    public func observe(_ v: Verification) {
        for (i, token) in v.tree.tokens.enumerated() {
            replaceRow(of: token, with: v.candidates(ofNode: i))
        }
    }

    /// Overwrites `token`'s row with `candidates` (best first).
    public func replaceRow(of token: Int32, with candidates: ArraySlice<Int32>) {
        precondition(candidates.count == k)
        let row = Int(token) * k
        matrix.replaceSubrange(row..<(row + k), with: candidates)
    }

    /// Replaces the whole matrix (from a saved file); ids must be in the vocabulary.
    public func load(_ values: [Int32]) {
        precondition(values.count == matrix.count && values.allSatisfy { $0 >= 0 && Int($0) < vocabularySize })
        matrix = values
    }
}
