// Fuzz target: tree template files (TreeTemplate.named on a JSON file). A parsed template
// must satisfy its invariants: every node's parent comes before it and is its prefix.
import RecycleDecoding

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = fuzzInputFile(UnsafeRawBufferPointer(start: data, count: size), suffix: ".json")
    guard let tree = try? TreeTemplate.named(path, k: 8) else { return 0 }
    precondition(tree.parents.count == tree.paths.count)
    // Parents are draft-tree nodes: the root is node 0, path j is node j + 1.
    for (i, p) in tree.parents.enumerated() {
        precondition(p >= 0 && p <= i, "parent after child")
        precondition(p == 0 ? tree.paths[i].count == 1 : tree.paths[p - 1] == Array(tree.paths[i].dropLast()))
        precondition(tree.paths[i].allSatisfy { (0..<8).contains($0) })
    }
    return 0
}
