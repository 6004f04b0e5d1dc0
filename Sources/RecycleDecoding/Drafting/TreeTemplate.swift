#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// The shape of a Token Recycling draft tree: each node is a path of candidate ranks from
/// the root. `[0, 1]` is the rank-1 candidate of the rank-0 candidate of the root token.
/// This is the official code's representation (`tree_template_.py`).
public struct TreeTemplate: Sendable, Equatable {
    /// The built-in name or file path it came from, for reports.
    public let name: String
    /// Rank paths, parents before children.
    public let paths: [[Int]]
    /// For path `i`: its parent's node in a draft tree, where the root is node 0 and path `j`
    /// is node `j + 1` (the numbering of `DraftTree`).
    public let parents: [Int]

    /// Why a template was refused.
    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        /// Neither a built-in name nor an existing file.
        case unknownName(String)
        /// The tree file could not be read, or is not JSON of integer rank paths.
        case unreadable(String)
        /// An empty path, a rank outside `0..<k`, a repeated node or a node before its parent.
        case invalid(String)

        public var description: String {
            switch self {
            case let .unknownName(n):
                "unknown tree \"\(n)\" (built in: auto, \(TreeTemplate.builtInNames.joined(separator: ", ")); or a JSON file)"
            case let .unreadable(why): "cannot read the tree file: \(why)"
            case let .invalid(why): "invalid tree: \(why)"
            }
        }
    }

    /// Validates `paths`: every rank in `0..<k`, no duplicates, every node's parent listed first.
    public init(name: String, paths: [[Int]], k: Int) throws(Error) {
        var index: [[Int]: Int] = [:]
        var parents: [Int] = []
        for (i, path) in paths.enumerated() {
            guard !path.isEmpty, path.allSatisfy({ $0 >= 0 && $0 < k }) else {
                throw .invalid("node \(path): ranks must be in 0..<\(k)")
            }
            guard index[path] == nil else { throw .invalid("node \(path) appears twice") }
            if path.count == 1 {
                parents.append(0)
            } else if let parent = index[Array(path.dropLast())] {
                parents.append(parent + 1)
            } else {
                throw .invalid("node \(path) comes before its parent \(Array(path.dropLast()))")
            }
            index[path] = i
        }
        self.name = name
        self.paths = paths
        self.parents = parents
    }

    /// Number of nodes besides the root.
    public var count: Int { paths.count }

    /// A built-in template by name, or a JSON file: a list of paths, or an object with "nodes".
    public static func named(_ nameOrPath: String, k: Int) throws(Error) -> TreeTemplate {
        if let paths = builtIn[nameOrPath] { return try TreeTemplate(name: nameOrPath, paths: paths, k: k) }
        guard FileManager.default.fileExists(atPath: nameOrPath) else { throw .unknownName(nameOrPath) }
        let bytes: [UInt8]
        do { bytes = try AtomicFile.read(path: nameOrPath) } catch { throw .unreadable(error.description) }
        let paths = try TreeFile.paths(json: bytes, source: nameOrPath)
        return try TreeTemplate(name: nameOrPath, paths: paths, k: k)
    }

    /// The built-in templates' names, sorted.
    public static var builtInNames: [String] { builtIn.keys.sorted() }

    /// "2.2.2": the paper's default (80 nodes, 6 levels); "2.2.2-l2" and "2.2.2-l1": its first
    /// two levels (29 nodes) and first level (8); "chain16" (16 nodes, deep and narrow);
    /// "spine4"/"spine8": the rank-0 chain alone, for machines where verification is costly.
    static let builtIn: [String: [[Int]]] = {
        let level1 = (0..<8).map { [$0] }
        let level2: [[Int]] = (0..<8).map { [0, $0] } + (0..<4).map { [1, $0] } + (0..<3).map { [2, $0] }
            + [[3, 0], [3, 1], [4, 0], [5, 0], [6, 0], [7, 0]]
        let level3: [[Int]] = (0..<8).map { [0, 0, $0] } + [[0, 1, 0], [0, 1, 1], [0, 1, 2], [0, 2, 0], [0, 2, 1]]
            + [[0, 3, 0], [0, 4, 0], [0, 5, 0], [0, 6, 0], [0, 7, 0], [1, 0, 0], [1, 0, 1], [1, 1, 0]]
            + [[2, 0, 0], [3, 0, 0], [4, 0, 0], [5, 0, 0]]
        let level4: [[Int]] = (0..<5).map { [0, 0, 0, $0] } + [[0, 0, 1, 0], [0, 0, 1, 1], [0, 0, 2, 0], [0, 0, 3, 0]]
            + [[0, 0, 4, 0], [0, 1, 0, 0], [0, 2, 0, 0], [1, 0, 0, 0], [2, 0, 0, 0], [3, 0, 0, 0]]
        let level5: [[Int]] = [[0, 0, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 2], [0, 0, 0, 1, 0], [0, 0, 0, 2, 0]]
            + [[0, 0, 1, 0, 0], [0, 1, 0, 0, 0], [1, 0, 0, 0, 0]]
        let level6: [[Int]] = [[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1], [0, 0, 0, 1, 0, 0]]
        func spine(_ depth: Int) -> [[Int]] { (1...depth).map { [Int](repeating: 0, count: $0) } }
        let chain16 = [[0], [1], [2], [0, 0], [0, 1], [1, 0], [0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 1]]
            + spine(9).dropFirst(4)
        return [
            "2.2.2": level1 + level2 + level3 + level4 + level5 + level6,
            "2.2.2-l2": level1 + level2,
            "2.2.2-l1": level1,
            "chain16": chain16,
            "spine4": spine(4),
            "spine8": spine(8),
        ]
    }()
}
