/// Sums the lanes by repeated halving: a fixed, balanced order that vectorizes
/// (`.sum()` on a SIMD type is a serial chain of scalar adds).
@inline(__always)
public func horizontalSum(_ v: SIMD16<Float>) -> Float {
    let a = v.lowHalf + v.highHalf
    let b = a.lowHalf + a.highHalf
    let c = b.lowHalf + b.highHalf
    return c[0] + c[1]
}

/// The same halving order for one SIMD8 (one AVX register).
@inline(__always)
public func horizontalSum(_ v: SIMD8<Float>) -> Float {
    let b = v.lowHalf + v.highHalf
    let c = b.lowHalf + b.highHalf
    return c[0] + c[1]
}

/// Dot product of two `count`-float vectors, `count` a multiple of 16, in a fixed order:
/// one SIMD16 accumulator, then `horizontalSum`.
@inline(__always)
public func dot16(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    var acc = SIMD16<Float>()
    var i = 0
    while i < count {
        acc = acc.addingProduct(
            ra.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self),
            rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self))
        i += 16
    }
    return horizontalSum(acc)
}
