/// How the integer matmul quantizes its input, per 32-element block of each column.
///
/// A block quantized to 15 bits is held as two signed bytes per element,
/// `q = 128 * high + low`, each byte plane taking one pass of 8-bit dot products; a block
/// quantized to 8 bits is one byte per element, `q = high`, and one pass: half the
/// multiply-adds.
public enum InputPrecision: Sendable {
    /// 15 bits in every block: top logits within 0.013 of Hugging Face's float computation on
    /// SmolLM2 and Gemma 3. The parity tests against Hugging Face use it, to hold the model's
    /// arithmetic to a tight tolerance.
    case fine
    /// 8 bits in a block whose largest magnitude is at most `QuantizedActivations.coarseRatio`
    /// (5) times its mean magnitude, 15 bits in the rest: the blocks with an outlier (a few
    /// channels of SmolLM2 carry activations hundreds of times larger than the rest) keep
    /// 15 bits, where 8 would round every other element to 0 or ±1. The default.
    ///
    /// Measured against Hugging Face (weights-tools/reference.py with the same rule,
    /// teacher-forced through the fixtures): two thirds of the blocks take 8 bits; top-5
    /// logits within 0.23 on SmolLM2 and 0.29 on Gemma 3 (mean 0.05), every greedy token the
    /// same. With 8 bits in every block (llama.cpp's Q8_1 inputs) they were 1.0 apart and
    /// greedy decoding changed tokens.
    case adaptive
}

/// Activation columns quantized per 32-element block for the integer matmul (`InputPrecision`):
/// `x[32b + j] ≈ scale[b] * q[32b + j]`, with `q` in -16383...16383 kept as two signed bytes
/// `q = 128 * high + low` (`high` in -128...127, `low` in 0...127) where the block has 15
/// bits (`fine`), and `q = high` in -127...127 where it has 8 (`low` unused), so that 8-bit
/// dot-product instructions handle it in two passes or one (`byteDot`).
///
/// Per block, in f32: `a = max|x|`; the block takes 8 bits when `.adaptive` and
/// `32 a <= 5 * Σ|x|` (the two 16-element halves added, then `horizontalSum`), else 15.
/// With `L` = 127 or 16383 levels: `scale = a / L`, `q = rint(x * (1 / scale))` rounding
/// half to even (numpy's `rint`; weights-tools/reference.py quantizes with the same f32
/// operations). A block of zeros has scale 0 and q 0. Each block also keeps what the weight formats need
/// of `Σq`: `scale * Σq` (the minimums of Q4_1 and Q4_K multiply it), `-128 * Σq` (Q8_0
/// weights are stored offset by 128; Q5_0's offset of 16 is an eighth of it) and the sums
/// over each 16-element half (Q6_K, offset by 32, has a scale per half).
///
/// Each column is quantized on its own, so a column's values never depend on the batch.
/// The storage is block-major: column `n`'s block `b` is block `i = b * columns + n`, so the
/// columns of a matmul tile sit at fixed offsets from one index per block.
///
/// The pointers point into storage the caller owns (`matmul`'s temporary allocation) and
/// are valid for that call only; worker threads only read them.
struct QuantizedActivations {
    static let levels: Float = 16383
    /// `.adaptive` takes 8 bits where `max|x| <= coarseRatio * mean|x|` over the block.
    static let coarseRatio: Float = 5

    let columns: Int
    /// Elements per column (a multiple of 32).
    let count: Int
    /// `columns * count` high and low bytes, 32 per block `i`, at `32 i`.
    let high: UnsafeMutablePointer<Int8>
    let low: UnsafeMutablePointer<Int8>
    /// Per block `i` (`columns * count / 32` each).
    let scale: UnsafeMutablePointer<Float>
    let scaledSum: UnsafeMutablePointer<Float>
    let offsetSum: UnsafeMutablePointer<Int32>
    /// `Σq` over elements 0..<16 and over 16..<32 of block `i`, at `2 i` and `2 i + 1`.
    let halfSum: UnsafeMutablePointer<Int32>
    /// Per block `i`: true where the block has 15 bits (`high` and `low`), false where it
    /// has 8 (`high` alone).
    let fine: UnsafeMutablePointer<Bool>

    var blocks: Int { count / 32 }

    /// Quantizes `columns` vectors of `count` floats, `stride` floats apart, into `storage`
    /// (at least `QuantizedActivations.bytes(columns:count:)` bytes, 64-byte aligned).
    init(_ x: UnsafePointer<Float>, stride: Int, columns: Int, count: Int, precision: InputPrecision, storage: UnsafeMutableRawPointer) {
        self.columns = columns
        self.count = count
        let values = Self.roundUp(columns * count), blocks = columns * count / 32
        high = storage.bindMemory(to: Int8.self, capacity: values)
        low = (storage + values).bindMemory(to: Int8.self, capacity: values)
        scale = (storage + 2 * values).bindMemory(to: Float.self, capacity: 2 * blocks)
        scaledSum = scale + blocks
        offsetSum = (storage + 2 * values + 8 * blocks).bindMemory(to: Int32.self, capacity: 3 * blocks)
        halfSum = offsetSum + blocks
        fine = (storage + 2 * values + 20 * blocks).bindMemory(to: Bool.self, capacity: blocks)
        // `.fine`: with a negative ratio only a block of zeros takes 8 bits, all 0 either way.
        let ratio = precision == .adaptive ? Self.coarseRatio : -1
        for n in 0..<columns {
            for b in 0..<(count / 32) {
                quantizeBlock(x + n * stride + 32 * b, index: b * columns + n, coarseRatio: ratio)
            }
        }
    }

    static func bytes(columns: Int, count: Int) -> Int { 2 * roundUp(columns * count) + 21 * (columns * count / 32) }

    private static func roundUp(_ n: Int) -> Int { (n + 63) & ~63 }

    @inline(__always)
    private func quantizeBlock(_ x: UnsafePointer<Float>, index i: Int, coarseRatio: Float) {
        let raw = UnsafeRawPointer(x)
        let v0 = raw.loadUnaligned(as: SIMD16<Float>.self)
        let v1 = raw.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
        let a0 = absolute(v0), a1 = absolute(v1)
        let amax = maximum(a0, a1)
        let coarse = amax * 32 <= coarseRatio * horizontalSum(a0 + a1)
        // Selected as bit patterns, so the choice is a `cmov`, not a branch (see below).
        let d = amax / Float(bitPattern: coarse ? Float(127).bitPattern : Self.levels.bitPattern)
        let inverse = d > 0 ? 1 / d : 0
        let q0 = roundedToInt(v0 * SIMD16(repeating: inverse)), q1 = roundedToInt(v1 * SIMD16(repeating: inverse))
        fine[i] = !coarse
        // No branch on `coarse`: which blocks take 8 bits varies with the data, and a branch
        // on it mispredicted often enough to be 5% of the quantizer's samples. An 8-bit
        // block's `high` is `q` (a shift by 0); its `low` is stored but not read.
        let shift = SIMD16<Int32>(repeating: coarse ? 0 : 7), mask = SIMD16<Int32>(repeating: 127)
        let h = UnsafeMutableRawPointer(high + 32 * i), l = UnsafeMutableRawPointer(low + 32 * i)
        h.storeBytes(of: narrowed(q0 &>> shift), as: SIMD16<Int8>.self)
        h.storeBytes(of: narrowed(q1 &>> shift), toByteOffset: 16, as: SIMD16<Int8>.self)
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
private func maximum(_ u: SIMD16<Float>, _ v: SIMD16<Float>) -> Float {
    let ub = unsafeBitCast(u, to: SIMD16<Int32>.self), vb = unsafeBitCast(v, to: SIMD16<Int32>.self)
    let bits = ub.replacing(with: vb, where: vb .> ub)
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
