/// Decoding of GGML's quantized blocks into two SIMD16 halves (elements 0-15, 16-31).
///
/// Every kernel that reads quantized weights goes through these two functions, so a
/// weight has exactly one f32 value everywhere in the runtime (this is part of what makes
/// the matmul batch-invariant: the value never depends on which kernel path read it).

/// Any row encoding, read 32 elements at a time.
protocol BlockDecoder {
    /// Elements `32 * b ..< 32 * b + 32` of the row starting at `row`.
    static func block(_ b: Int, of row: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>)
}

/// `Q8_0`: `d: f16`, then 32 signed bytes; value = d * q.
enum Q8_0: BlockDecoder {
    @inline(__always)
    static func block(_ b: Int, of row: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>) {
        dequantize(row + 34 * b)
    }

    @inline(__always)
    static func dequantize(_ block: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>) {
        let d = SIMD16<Float>(repeating: Float(block.loadUnaligned(as: Float16.self)))
        let lo = block.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self)
        let hi = block.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self)
        return (floats(lo) * d, floats(hi) * d)
    }
}

/// `Q4_1`: `d: f16`, `m: f16`, 16 bytes; element j < 16 is the low nibble of byte j,
/// element j >= 16 the high nibble of byte j - 16; value = d * nibble + m.
enum Q4_1: BlockDecoder {
    @inline(__always)
    static func block(_ b: Int, of row: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>) {
        dequantize(row + 20 * b)
    }

    @inline(__always)
    static func dequantize(_ block: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>) {
        let d = SIMD16<Float>(repeating: Float(block.loadUnaligned(as: Float16.self)))
        let m = SIMD16<Float>(repeating: Float(block.loadUnaligned(fromByteOffset: 2, as: Float16.self)))
        let q = block.loadUnaligned(fromByteOffset: 4, as: SIMD16<UInt8>.self)
        let lo = q & SIMD16(repeating: 0x0F)
        let hi = q &>> SIMD16(repeating: 4)
        return (m.addingProduct(floats(lo), d), m.addingProduct(floats(hi), d))
    }
}

/// Plain `f32` rows.
enum F32Row: BlockDecoder {
    @inline(__always)
    static func block(_ b: Int, of row: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>) {
        (row.loadUnaligned(fromByteOffset: 128 * b, as: SIMD16<Float>.self),
         row.loadUnaligned(fromByteOffset: 128 * b + 64, as: SIMD16<Float>.self))
    }
}

/// `f16` rows.
enum F16Row: BlockDecoder {
    @inline(__always)
    static func block(_ b: Int, of row: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>) {
        (floats(row.loadUnaligned(fromByteOffset: 64 * b, as: SIMD16<Float16>.self)),
         floats(row.loadUnaligned(fromByteOffset: 64 * b + 32, as: SIMD16<Float16>.self)))
    }
}

// Straight-line lane conversions: the stdlib's generic SIMD conversion initialisers
// compile to scalar lane loops, while these become one vpmovzx/vpmovsx + vcvtdq2ps pair.
@inline(__always)
func floats(_ v: SIMD16<UInt8>) -> SIMD16<Float> {
    SIMD16<Float>(
        Float(v[0]), Float(v[1]), Float(v[2]), Float(v[3]), Float(v[4]), Float(v[5]), Float(v[6]), Float(v[7]),
        Float(v[8]), Float(v[9]), Float(v[10]), Float(v[11]), Float(v[12]), Float(v[13]), Float(v[14]), Float(v[15]))
}

@inline(__always)
func floats(_ v: SIMD16<Int8>) -> SIMD16<Float> {
    SIMD16<Float>(
        Float(v[0]), Float(v[1]), Float(v[2]), Float(v[3]), Float(v[4]), Float(v[5]), Float(v[6]), Float(v[7]),
        Float(v[8]), Float(v[9]), Float(v[10]), Float(v[11]), Float(v[12]), Float(v[13]), Float(v[14]), Float(v[15]))
}

@inline(__always)
func floats(_ v: SIMD16<Float16>) -> SIMD16<Float> {
    SIMD16<Float>(
        Float(v[0]), Float(v[1]), Float(v[2]), Float(v[3]), Float(v[4]), Float(v[5]), Float(v[6]), Float(v[7]),
        Float(v[8]), Float(v[9]), Float(v[10]), Float(v[11]), Float(v[12]), Float(v[13]), Float(v[14]), Float(v[15]))
}
