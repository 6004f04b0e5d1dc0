/// Activation columns quantized to 15-bit integers per 32-element block, for the integer
/// matmul: `x[32b + j] ≈ scale[b] * q[32b + j]` with `q` in -16383...16383, each `q` kept as
/// two signed bytes, `q = 128 * high + low` with `high` in -128...127 and `low` in 0...127,
/// so that 8-bit dot-product instructions handle it in two passes (`byteDot`).
///
/// Why 15 bits and not 8 (llama.cpp's Q8_1): on SmolLM2 a few channels carry activations
/// hundreds of times larger than the rest, and with 8 bits every other element of their
/// block rounds to 0 or ±1. Measured on the default model, 8-bit inputs moved top logits
/// by up to 0.76 from the float result (and a 1e-7 relative change of the inputs moved them
/// by 0.27); 15 bits make the steps 128 times finer for twice the multiply-adds.
///
/// Per block: `scale = max|x| / 16383`, `q = rint(x * (1 / scale))` in f32, rounding half to
/// even (numpy's `rint`; weights-tools/reference.py quantizes with the same f32 operations).
/// A block of zeros has scale 0 and q 0. Each block also keeps what the weight formats need
/// of `Σq`: `scale * Σq` (the minimums of Q4_1 and Q4_K multiply it), `-128 * Σq` (Q8_0
/// weights are stored offset by 128; Q5_0's offset of 16 is an eighth of it) and the sums
/// over each 16-element half (Q6_K, offset by 32, has a scale per half).
///
/// Each column is quantized on its own, so a column's values never depend on the batch.
///
/// The pointers point into storage the caller owns (`matmul`'s temporary allocation) and
/// are valid for that call only; worker threads only read them.
struct QuantizedActivations {
    static let levels: Float = 16383

    let columns: Int
    /// Elements per column (a multiple of 32).
    let count: Int
    /// `columns * count` high and low bytes, column after column.
    let high: UnsafeMutablePointer<Int8>
    let low: UnsafeMutablePointer<Int8>
    /// Per column and block (`columns * count / 32` each).
    let scale: UnsafeMutablePointer<Float>
    let scaledSum: UnsafeMutablePointer<Float>
    let offsetSum: UnsafeMutablePointer<Int32>
    /// `Σq` over elements 0..<16 and over 16..<32 of each block (`2 * columns * count / 32`).
    let halfSum: UnsafeMutablePointer<Int32>

    var blocks: Int { count / 32 }

    /// Quantizes `columns` vectors of `count` floats, `stride` floats apart, into `storage`
    /// (at least `QuantizedActivations.bytes(columns:count:)` bytes, 64-byte aligned).
    init(_ x: UnsafePointer<Float>, stride: Int, columns: Int, count: Int, storage: UnsafeMutableRawPointer) {
        self.columns = columns
        self.count = count
        let values = Self.roundUp(columns * count), blocks = columns * count / 32
        high = storage.bindMemory(to: Int8.self, capacity: values)
        low = (storage + values).bindMemory(to: Int8.self, capacity: values)
        scale = (storage + 2 * values).bindMemory(to: Float.self, capacity: 2 * blocks)
        scaledSum = scale + blocks
        offsetSum = (storage + 2 * values + 8 * blocks).bindMemory(to: Int32.self, capacity: 3 * blocks)
        halfSum = offsetSum + blocks
        for n in 0..<columns {
            for b in 0..<(count / 32) {
                quantizeBlock(x + n * stride + 32 * b, index: n * (count / 32) + b)
            }
        }
    }

    static func bytes(columns: Int, count: Int) -> Int { 2 * roundUp(columns * count) + 20 * (columns * count / 32) }

    private static func roundUp(_ n: Int) -> Int { (n + 63) & ~63 }

    @inline(__always)
    private func quantizeBlock(_ x: UnsafePointer<Float>, index i: Int) {
        let raw = UnsafeRawPointer(x)
        let v0 = raw.loadUnaligned(as: SIMD16<Float>.self)
        let v1 = raw.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
        let amax = maximum(pointwiseMax(absolute(v0), absolute(v1)))
        let d = amax / Self.levels
        let inverse = d > 0 ? 1 / d : 0
        let q0 = roundedToInt(v0 * SIMD16(repeating: inverse)), q1 = roundedToInt(v1 * SIMD16(repeating: inverse))
        let seven = SIMD16<Int32>(repeating: 7), mask = SIMD16<Int32>(repeating: 127)
        let h = UnsafeMutableRawPointer(high + 32 * i), l = UnsafeMutableRawPointer(low + 32 * i)
        h.storeBytes(of: narrowed(q0 &>> seven), as: SIMD16<Int8>.self)
        h.storeBytes(of: narrowed(q1 &>> seven), toByteOffset: 16, as: SIMD16<Int8>.self)
        l.storeBytes(of: narrowed(q0 & mask), as: SIMD16<Int8>.self)
        l.storeBytes(of: narrowed(q1 & mask), toByteOffset: 16, as: SIMD16<Int8>.self)
        let first = sum(q0), second = sum(q1), total = first &+ second
        scale[i] = d
        scaledSum[i] = Float(total) * d
        offsetSum[i] = -128 &* total
        halfSum[2 &* i] = first
        halfSum[2 &* i &+ 1] = second
    }
}

@inline(__always)
private func absolute(_ v: SIMD16<Float>) -> SIMD16<Float> {
    unsafeBitCast(unsafeBitCast(v, to: SIMD16<UInt32>.self) & SIMD16(repeating: 0x7FFF_FFFF), to: SIMD16<Float>.self)
}

/// The largest lane of a vector of non-negative floats. Such floats order like their bit
/// patterns as integers, and integer lanes reduce without the generic `pointwiseMax`
/// (which is a function call for SIMD8 and SIMD4).
@inline(__always)
private func maximum(_ v: SIMD16<Float>) -> Float {
    let bits = unsafeBitCast(v, to: SIMD16<Int32>.self)
    let a = bits.lowHalf.replacing(with: bits.highHalf, where: bits.highHalf .> bits.lowHalf)
    let b = a.lowHalf.replacing(with: a.highHalf, where: a.highHalf .> a.lowHalf)
    let c = b.lowHalf.replacing(with: b.highHalf, where: b.highHalf .> b.lowHalf)
    return Float(bitPattern: UInt32(bitPattern: max(c[0], c[1])))
}

/// `rint` for |v| < 2^22 with no conversion instruction that could trap: adding 1.5 * 2^23
/// leaves the integer, rounded half to even by the FPU, in the low mantissa bits.
@inline(__always)
private func roundedToInt(_ v: SIMD16<Float>) -> SIMD16<Int32> {
    let magic = SIMD16<Float>(repeating: 12_582_912)
    return unsafeBitCast(v + magic, to: SIMD16<Int32>.self) &- unsafeBitCast(magic, to: SIMD16<Int32>.self)
}

@inline(__always)
private func narrowed(_ v: SIMD16<Int32>) -> SIMD16<Int8> {
    SIMD16<Int8>(truncatingIfNeeded: v)
}

@inline(__always)
private func sum(_ v: SIMD16<Int32>) -> Int32 {
    let a = v.lowHalf &+ v.highHalf
    let b = a.lowHalf &+ a.highHalf
    let c = b.lowHalf &+ b.highHalf
    return c[0] &+ c[1]
}
