/// Decoding of GGML's quantized blocks, 8 elements (one AVX register) at a time.
///
/// Every kernel that reads weights goes through `slice`, so a weight has exactly one f32
/// value everywhere in the runtime (this is part of what makes the matmul batch-invariant:
/// the value never depends on which kernel path read it). Slices are small enough that a
/// kernel can decode them where it uses them, without spilling registers.

/// Any row encoding, read in blocks of 32 elements, each as four slices of 8.
protocol BlockDecoder {
    /// Elements `32 * b + 8 * s ..< 32 * b + 8 * s + 8` (`s` in 0..<4) of the row at `row`.
    static func slice(_ s: Int, ofBlock b: Int, in row: UnsafeRawPointer) -> SIMD8<Float>
}

/// `Q8_0`: `d: f16`, then 32 signed bytes; value = d * q.
enum Q8_0: BlockDecoder {
    @inline(__always)
    static func slice(_ s: Int, ofBlock b: Int, in row: UnsafeRawPointer) -> SIMD8<Float> {
        let block = row + 34 * b
        let d = SIMD8<Float>(repeating: scales(block)[0])
        return floats(block.loadUnaligned(fromByteOffset: 2 + 8 * s, as: SIMD8<Int8>.self)) * d
    }
}

/// `Q4_1`: `d: f16`, `m: f16`, 16 bytes; element j < 16 is the low nibble of byte j,
/// element j >= 16 the high nibble of byte j - 16; value = d * nibble + m (one fused
/// multiply-add).
enum Q4_1: BlockDecoder {
    @inline(__always)
    static func slice(_ s: Int, ofBlock b: Int, in row: UnsafeRawPointer) -> SIMD8<Float> {
        let block = row + 20 * b
        let dm = scales(block)
        let d = SIMD8<Float>(repeating: dm[0]), m = SIMD8<Float>(repeating: dm[1])
        let q = block.loadUnaligned(fromByteOffset: 4 + 8 * (s & 1), as: SIMD8<UInt8>.self)
        let nibbles = s < 2 ? q & SIMD8(repeating: 0x0F) : q &>> SIMD8(repeating: 4)
        return m.addingProduct(floats(nibbles), d)
    }
}

/// Plain `f32` rows.
enum F32Row: BlockDecoder {
    @inline(__always)
    static func slice(_ s: Int, ofBlock b: Int, in row: UnsafeRawPointer) -> SIMD8<Float> {
        row.loadUnaligned(fromByteOffset: 128 * b + 32 * s, as: SIMD8<Float>.self)
    }
}

/// `f16` rows.
enum F16Row: BlockDecoder {
    @inline(__always)
    static func slice(_ s: Int, ofBlock b: Int, in row: UnsafeRawPointer) -> SIMD8<Float> {
        floats(row.loadUnaligned(fromByteOffset: 64 * b + 16 * s, as: SIMD8<Float16>.self))
    }
}

/// The f16 numbers at the start of a block (Q8_0's scale; Q4_1's scale and minimum) and
/// whatever follows, as f32. One zero-extending 8-byte load and one vcvtph2ps: a 2-byte
/// load of one f16 compiles to vpinsrw into a stale register, a false dependency that
/// chained every block of a row to the previous one (3x slower decoding).
@inline(__always)
private func scales(_ block: UnsafeRawPointer) -> SIMD4<Float> {
    let h = block.loadUnaligned(as: SIMD4<Float16>.self)
    return SIMD4<Float>(Float(h[0]), Float(h[1]), Float(h[2]), Float(h[3]))
}

extension BlockDecoder {
    /// Writes the `cols` decoded elements of the row at `row` to `out`.
    @inline(__always)
    static func decodeRow(_ row: UnsafeRawPointer, cols: Int, into out: UnsafeMutablePointer<Float>) {
        let raw = UnsafeMutableRawPointer(out)
        for b in 0..<(cols / 32) {
            // All four slices before any store, so the block's scales are read once (a
            // store in between might alias them, as far as the compiler knows).
            let s0 = slice(0, ofBlock: b, in: row), s1 = slice(1, ofBlock: b, in: row)
            let s2 = slice(2, ofBlock: b, in: row), s3 = slice(3, ofBlock: b, in: row)
            raw.storeBytes(of: s0, toByteOffset: 128 * b, as: SIMD8<Float>.self)
            raw.storeBytes(of: s1, toByteOffset: 128 * b + 32, as: SIMD8<Float>.self)
            raw.storeBytes(of: s2, toByteOffset: 128 * b + 64, as: SIMD8<Float>.self)
            raw.storeBytes(of: s3, toByteOffset: 128 * b + 96, as: SIMD8<Float>.self)
        }
    }
}

// Straight-line lane conversions: the stdlib's generic SIMD conversion initialisers
// compile to scalar lane loops, while these become one vpmovzx/vpmovsx + vcvtdq2ps pair
// (vcvtph2ps for f16).
@inline(__always)
func floats(_ v: SIMD8<UInt8>) -> SIMD8<Float> {
    SIMD8<Float>(Float(v[0]), Float(v[1]), Float(v[2]), Float(v[3]), Float(v[4]), Float(v[5]), Float(v[6]), Float(v[7]))
}

@inline(__always)
func floats(_ v: SIMD8<Int8>) -> SIMD8<Float> {
    SIMD8<Float>(Float(v[0]), Float(v[1]), Float(v[2]), Float(v[3]), Float(v[4]), Float(v[5]), Float(v[6]), Float(v[7]))
}

@inline(__always)
func floats(_ v: SIMD8<Float16>) -> SIMD8<Float> {
    SIMD8<Float>(Float(v[0]), Float(v[1]), Float(v[2]), Float(v[3]), Float(v[4]), Float(v[5]), Float(v[6]), Float(v[7]))
}
