/// Keys and values of every committed position, for every layer, in f32.
///
/// Layout: head-major. Layer `l`, kv-head `h`, position `p` starts at
/// `((l * heads + h) * capacity + p) * headDim`, so one head's keys (and values) are one
/// contiguous run, position after position. Decoding reads a head's whole cache for each
/// token; as one stream it is what the hardware prefetcher follows best. (Position-major
/// rows of all heads, the earlier layout, put a head's 256 bytes every 768 on SmolLM2, and
/// decode's attention waited on those loads: RESULTS Part 11.)
public final class KVCache: @unchecked Sendable {
    // @unchecked Sendable: `keys` and `values` are written only by the transformer's forward
    // pass and `commit` (one caller at a time), at slots no concurrent reader uses.
    /// Number of transformer layers cached.
    public let layers: Int
    /// Positions the cache holds, committed and scratch together.
    public let capacity: Int
    /// Key/value heads per layer.
    public let heads: Int
    /// Floats of one head's key (or value) at one position.
    public let headDim: Int
    /// Positions `0..<count` hold committed keys and values.
    public internal(set) var count = 0 {
        didSet { revision &+= 1 }
    }
    /// Changes whenever the committed content may have changed, so that a holder of a copy of
    /// the cached tokens (`Generator`) can tell its copy is still valid.
    public private(set) var revision: UInt64 = 0
    private let keys: UnsafeMutablePointer<Float>
    private let values: UnsafeMutablePointer<Float>

    /// Allocates `layers * heads * capacity * headDim` floats each for keys and values, left
    /// uninitialised, with nothing committed.
    public init(layers: Int, capacity: Int, heads: Int, headDim: Int) {
        self.layers = layers
        self.capacity = capacity
        self.heads = heads
        self.headDim = headDim
        let total = layers * heads * capacity * headDim
        // Left uninitialised: a position is always written before it is read, and untouched
        // pages of a large context cost no memory.
        keys = .allocate(capacity: total)
        values = .allocate(capacity: total)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Bytes held by the cache.
    public var byteCount: Int { 2 * layers * heads * capacity * headDim * MemoryLayout<Float>.size }

    /// Head `head`'s keys in layer `layer` from `position` on, `headDim` floats per position.
    func keys(layer: Int, head: Int, position: Int = 0) -> UnsafeMutablePointer<Float> {
        keys + ((layer * heads + head) * capacity + position) * headDim
    }

    /// Head `head`'s values in layer `layer` from `position` on, `headDim` floats per position.
    func values(layer: Int, head: Int, position: Int = 0) -> UnsafeMutablePointer<Float> {
        values + ((layer * heads + head) * capacity + position) * headDim
    }

    /// Stores `count` positions' keys and values of layer `layer` from `position` on, given
    /// position-major (`heads * headDim` floats a position, as the projections produce them).
    func store(layer: Int, position: Int, count: Int, keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>) {
        let width = heads * headDim
        for i in 0..<count {
            for h in 0..<heads {
                keys(layer: layer, head: h, position: position + i).update(from: k + i * width + h * headDim, count: headDim)
                values(layer: layer, head: h, position: position + i).update(from: v + i * width + h * headDim, count: headDim)
            }
        }
    }

    /// Copies position `from`'s keys and values to position `to`, in every layer and head.
    func move(from: Int, to: Int) {
        for l in 0..<layers {
            for h in 0..<heads {
                keys(layer: l, head: h, position: to).update(from: keys(layer: l, head: h, position: from), count: headDim)
                values(layer: l, head: h, position: to).update(from: values(layer: l, head: h, position: from), count: headDim)
            }
        }
    }

    /// Forgets every position from `newCount` on.
    public func truncate(to newCount: Int) {
        precondition(newCount >= 0 && newCount <= count, "can only shrink the cache")
        count = newCount
    }
}
