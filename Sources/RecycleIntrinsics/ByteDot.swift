// This module is compiled with `-parse-stdlib` (Package.swift) for one reason: it can name
// LLVM's intrinsics as `Builtin.int_*`, which is how Swift code reaches instructions that
// the optimizer does not form from plain code. Two matter: the prefetch hint
// (Prefetch.swift), and here the 8-bit dot product (`vpdpbusd` with AVX-512 VNNI;
// `vpmaddubsw` + `vpmaddwd` with AVX2 or AVX-512BW): LLVM turns no Swift SIMD pattern we
// tried (widen, multiply, add four neighbours) into either; it emits `vpmulld` and
// shuffles, slower than f32 FMAs.
//
// Which instructions exist is decided when the package is built (Package.swift reads the
// build CPU's flags, or the table for RECYCLE_TARGET_CPU, and defines RECYCLE_X86_VNNI,
// RECYCLE_X86_AVX512BW or RECYCLE_X86_AVX2). Every variant computes the same exact
// integers, so results never depend on which one was built.
import Swift

/// `acc[i] + Σ_{j<4} u[4i+j] * s[4i+j]` for each of the 16 lanes: unsigned bytes times
/// signed bytes, four neighbours summed into a 32-bit lane.
///
/// Precondition (not checked; it holds for 4-bit weights): every `u` is at most 127, so
/// that the sum of two neighbouring products fits in 16 bits. The AVX2 and AVX-512BW
/// variants add pairs in 16 bits with saturation and would otherwise be inexact.
@inlinable @inline(__always)
public func byteDot(_ acc: SIMD16<Int32>, _ u: SIMD64<UInt8>, _ s: SIMD64<Int8>) -> SIMD16<Int32> {
#if arch(x86_64) && RECYCLE_X86_VNNI
    let r = Builtin.int_x86_avx512_vpdpbusd_512(
        unsafeBitCast(acc, to: Builtin.Vec16xInt32.self),
        unsafeBitCast(u, to: Builtin.Vec16xInt32.self),
        unsafeBitCast(s, to: Builtin.Vec16xInt32.self))
    return unsafeBitCast(r, to: SIMD16<Int32>.self)
#elseif arch(x86_64) && RECYCLE_X86_AVX512BW
    let pairs = Builtin.int_x86_avx512_pmaddubs_w_512(
        unsafeBitCast(u, to: Builtin.Vec64xInt8.self), unsafeBitCast(s, to: Builtin.Vec64xInt8.self))
    let quads = Builtin.int_x86_avx512_pmaddw_d_512(pairs, unsafeBitCast(SIMD32<Int16>(repeating: 1), to: Builtin.Vec32xInt16.self))
    return acc &+ unsafeBitCast(quads, to: SIMD16<Int32>.self)
#elseif arch(x86_64) && RECYCLE_X86_AVX2
    // Halves by bit casts to pairs: `lowHalf`/`highHalf` and `init(lowHalf:highHalf:)` copy
    // lane by lane here (measured: the AVX2 kernels ran 300x slower).
    let uu = unsafeBitCast(u, to: (SIMD32<UInt8>, SIMD32<UInt8>).self)
    let ss = unsafeBitCast(s, to: (SIMD32<Int8>, SIMD32<Int8>).self)
    let aa = unsafeBitCast(acc, to: (SIMD8<Int32>, SIMD8<Int32>).self)
    return unsafeBitCast((aa.0 &+ byteDot8(uu.0, ss.0), aa.1 &+ byteDot8(uu.1, ss.1)), to: SIMD16<Int32>.self)
#else
    var r = acc
    for i in 0..<16 {
        var t: Int32 = 0
        for j in 0..<4 { t &+= Int32(u[4 &* i &+ j]) &* Int32(s[4 &* i &+ j]) }
        r[i] &+= t
    }
    return r
#endif
}

/// Whether `byteDot` is exact for every unsigned byte, not only for those below 128: true
/// where it is `vpdpbusd` (no 16-bit intermediate) or portable code, false where pairs are
/// added in 16 bits with saturation. A constant, so branches on it fold away.
@inlinable
public var byteDotTakesAnyUnsignedByte: Bool {
#if arch(x86_64) && (RECYCLE_X86_AVX512BW || RECYCLE_X86_AVX2) && !RECYCLE_X86_VNNI
    false
#else
    true
#endif
}

/// Whether the build has 32 vector registers of 512 bits (AVX-512), so that a wider
/// matmul tile stays in registers. A constant, so branches on it fold away.
@inlinable
public var byteDotHasWideRegisters: Bool {
#if arch(x86_64) && (RECYCLE_X86_VNNI || RECYCLE_X86_AVX512BW)
    true
#else
    false
#endif
}

#if arch(x86_64) && RECYCLE_X86_AVX2
/// One 256-bit half of `byteDot`: `vpmaddubsw`, then `vpmaddwd` by ones.
@inlinable @inline(__always)
func byteDot8(_ u: SIMD32<UInt8>, _ s: SIMD32<Int8>) -> SIMD8<Int32> {
    let pairs = Builtin.int_x86_avx2_pmadd_ub_sw(
        unsafeBitCast(u, to: Builtin.Vec32xInt8.self), unsafeBitCast(s, to: Builtin.Vec32xInt8.self))
    let quads = Builtin.int_x86_avx2_pmadd_wd(pairs, unsafeBitCast(SIMD16<Int16>(repeating: 1), to: Builtin.Vec16xInt16.self))
    return unsafeBitCast(quads, to: SIMD8<Int32>.self)
}
#endif
