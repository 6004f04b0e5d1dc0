/// Whether `count` floats from `values` are all finite. `x - x` is 0 for a finite `x` and NaN
/// for an infinity or a NaN, and a NaN survives the sum: one vectorised pass, no branches.
func allFinite(_ values: UnsafePointer<Float>, count: Int) -> Bool {
    var lanes = SIMD8<Float>()
    var i = 0
    while i + 8 <= count {
        let v = UnsafeRawPointer(values + i).loadUnaligned(as: SIMD8<Float>.self)
        lanes += v - v
        i += 8
    }
    var tail: Float = 0
    while i < count {
        tail += values[i] - values[i]
        i += 1
    }
    return lanes.sum() + tail == 0
}
