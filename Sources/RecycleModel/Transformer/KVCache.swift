/// Keys and values of every committed position, for every layer, in f32.
///
/// Layout: layer `l`, position `p`, kv-head `h` starts at
/// `(l * capacity + p) * kvDim + h * headDim`, so one head's keys are `kvDim` floats apart.
public final class KVCache: @unchecked Sendable {
    /// Number of transformer layers cached.
    public let layers: Int
    /// Positions the cache holds, committed and scratch together.
    public let capacity: Int
    /// Floats of one position's keys (or values) in one layer: all key/value heads.
    public let kvDim: Int
    /// Positions `0..<count` hold committed keys and values.
    public internal(set) var count = 0 {
        didSet { revision &+= 1 }
    }
    /// Changes whenever the committed content may have changed, so that a holder of a copy of
    /// the cached tokens (`Generator`) can tell its copy is still valid.
    public private(set) var revision: UInt64 = 0
    let keys: UnsafeMutablePointer<Float>
    let values: UnsafeMutablePointer<Float>

    /// Allocates `layers * capacity * kvDim` floats each for keys and values, left
    /// uninitialised, with nothing committed.
    public init(layers: Int, capacity: Int, kvDim: Int) {
        self.layers = layers
        self.capacity = capacity
        self.kvDim = kvDim
        let total = layers * capacity * kvDim
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
    public var byteCount: Int { 2 * layers * capacity * kvDim * MemoryLayout<Float>.size }

    func keys(layer: Int, position: Int) -> UnsafeMutablePointer<Float> {
        keys + (layer * capacity + position) * kvDim
    }

    func values(layer: Int, position: Int) -> UnsafeMutablePointer<Float> {
        values + (layer * capacity + position) * kvDim
    }

    /// Forgets every position from `newCount` on.
    public func truncate(to newCount: Int) {
        precondition(newCount >= 0 && newCount <= count, "can only shrink the cache")
        count = newCount
    }
}
