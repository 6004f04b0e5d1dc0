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
    /// The template of the last draft (chosen anew every step with `--tree auto`).
    public private(set) var template: TreeTemplate
    /// Set when the tree is chosen adaptively instead of fixed.
    public private(set) var auto: AutoTree?
    public let start: Start
    /// `vocabularySize` rows of `k` token ids.
    public private(set) var matrix: [Int32]

    /// A recycler drafting along a fixed `template`, or along an `AutoTree` when `template` is nil.
    public init(vocabularySize: Int, k: Int = 8, template: TreeTemplate?, start: Start = .hot) {
        precondition(k >= 1 && k <= vocabularySize, "a row of k candidates needs k distinct tokens")
        self.k = k
        self.vocabularySize = vocabularySize
        if let template {
            self.template = template
        } else {
            let auto = AutoTree(k: k)
            self.auto = auto
            self.template = auto.choose()
        }
        self.start = start
        matrix = [Int32](repeating: 0, count: vocabularySize * k)
    }

    /// The name reports use: the fixed template's, or "auto".
    public var treeName: String { auto == nil ? template.name : "auto" }

    public func calibrate(context: Int, using measure: (Int) -> Double) {
        if auto?.needsCalibration(context: context) == true { auto?.calibrate(context: context, measure) }
    }

    public var name: String { "recycle" }
    public var candidatesPerNode: Int { k }
    /// Cold start asks for the prompt's own candidates (see `Generator`).
    public var seedsFromPrompt: Bool { start == .cold }

    public func begin(context: [Int32]) {
        if start == .cold { matrix.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
    }

    public func draft(root: Int32, context: [Int32]) -> DraftTree {
        if let auto { template = auto.choose() }
        var tree = DraftTree(root: root)
        for (path, parent) in zip(template.paths, template.parents) {
            let parentToken = tree.tokens[parent + 1]
            tree.add(matrix[Int(parentToken) * k + path[path.count - 1]], parent: parent + 1)
        }
        return tree
    }

    public func observe(_ v: Verification) {
        if auto != nil {
            // Where each produced token stood in its predecessor's row, before this update.
            for (j, token) in v.produced.enumerated() {
                let row = Int(v.tree.tokens[v.acceptedPath[j]]) * k
                auto!.record(rank: matrix[row..<(row + k)].firstIndex(of: token).map { $0 - row })
            }
        }
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
