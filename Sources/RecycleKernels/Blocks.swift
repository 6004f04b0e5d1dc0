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

/// `Q5_0`: `d: f16`, `qh: u32`, 16 bytes of nibbles as in `Q4_1`; bit j of `qh` is
/// element j's fifth bit; value = d * (u - 16), exact in f32 (an f16 times 5 bits).
enum Q5_0: BlockDecoder {
    @inline(__always)
    static func slice(_ s: Int, ofBlock b: Int, in row: UnsafeRawPointer) -> SIMD8<Float> {
        (floats(codes(s, ofBlock: b, in: row)) - SIMD8(repeating: 16)) * SIMD8(repeating: scales(row + 22 * b)[0])
    }

    /// The unsigned 5-bit values `u` (0...31) of the slice: the one definition of the
    /// element order, which `InterleavedBlocks` also reads.
    @inline(__always)
    static func codes(_ s: Int, ofBlock b: Int, in row: UnsafeRawPointer) -> SIMD8<UInt8> {
        let block = row + 22 * b
        let q = block.loadUnaligned(fromByteOffset: 6 + 8 * (s & 1), as: SIMD8<UInt8>.self)
        let nibbles = s < 2 ? q & SIMD8(repeating: 0x0F) : q &>> SIMD8(repeating: 4)
        // Byte s of qh holds the fifth bits of elements 8s ..< 8s + 8, lowest bit first.
        let bits = SIMD8<UInt8>(repeating: block.load(fromByteOffset: 2 + s, as: UInt8.self)) & SIMD8(1, 2, 4, 8, 16, 32, 64, 128)
        return nibbles | SIMD8(repeating: 0).replacing(with: 16, where: bits .!= 0)
    }
}

/// `Q4_K` super-blocks of 256 elements: `d: f16`, `dmin: f16`, 12 bytes of eight 6-bit
/// (scale, minimum) pairs, 128 bytes of nibbles. 32-element block `b` of a row is sub-block
/// `k = b % 8` of super-block `b / 8`: the low (k even) or high (k odd) nibbles of bytes
/// `32 * (k / 2) ..< 32 * (k / 2) + 32`, element by element. Value = `(d * sc) * n - dmin * m`
/// with `d * sc` and `dmin * m` in f32 (exact: an f16 times 6 bits), and one rounding: the
/// product with a nibble is exact too, so a fused multiply-add equals multiply-then-subtract
/// (which is what ggml and gguf-py compute).
enum Q4_K: BlockDecoder {
    @inline(__always)
    static func slice(_ s: Int, ofBlock b: Int, in row: UnsafeRawPointer) -> SIMD8<Float> {
        let (scale, minimum) = scaleAndMinimum(ofBlock: b, in: row)
        return SIMD8(repeating: -minimum).addingProduct(floats(codes(s, ofBlock: b, in: row)), SIMD8(repeating: scale))
    }

    /// The nibbles of the slice (see `Q5_0.codes`).
    @inline(__always)
    static func codes(_ s: Int, ofBlock b: Int, in row: UnsafeRawPointer) -> SIMD8<UInt8> {
        let k = b & 7, block = row + 144 * (b >> 3)
        let q = block.loadUnaligned(fromByteOffset: 16 + 32 * (k >> 1) + 8 * s, as: SIMD8<UInt8>.self)
        return k & 1 == 0 ? q & SIMD8(repeating: 0x0F) : q &>> SIMD8(repeating: 4)
    }

    /// `d * sc` and `dmin * m` of 32-element block `b`, unpacked as ggml's
    /// `get_scale_min_k4`: pair k < 4 is the low 6 bits of bytes k and k + 4; pair k >= 4
    /// has its low 4 bits in byte k + 4 (scale: low nibble, minimum: high nibble) and its
    /// top 2 bits in the top bits of bytes k - 4 (scale) and k (minimum).
    @inline(__always)
    static func scaleAndMinimum(ofBlock b: Int, in row: UnsafeRawPointer) -> (Float, Float) {
        let k = b & 7, block = row + 144 * (b >> 3)
        let dm = scales(block)
        func byte(_ i: Int) -> UInt8 { block.load(fromByteOffset: 4 + i, as: UInt8.self) }
        let sc, m: UInt8
        if k < 4 {
            sc = byte(k) & 0x3F
            m = byte(k + 4) & 0x3F
        } else {
            sc = byte(k + 4) & 0x0F | (byte(k - 4) >> 6) << 4
            m = byte(k + 4) >> 4 | (byte(k) >> 6) << 4
        }
        return (dm[0] * Float(sc), dm[1] * Float(m))
    }
}

/// `Q6_K` super-blocks of 256 elements: `ql: u8[128]` (low nibbles), `qh: u8[64]` (high bit
/// pairs), `scales: i8[16]` (one per 16 elements), `d: f16`. Each half `h` (128 elements)
/// uses bytes `64h ..< 64h + 64` of `ql` and `32h ..< 32h + 32` of `qh`; its quarter `g`
/// (32 elements, element i) is the low (g < 2) or high (g >= 2) nibble of `ql` byte
/// `64h + 32 * (g % 2) + i` and bits `2g, 2g + 1` of `qh` byte `32h + i`.
/// Value = `(d * sc) * (u - 32)`, exact in f32 (an f16 times 8 bits times 6 bits).
enum Q6_K: BlockDecoder {
    @inline(__always)
    static func slice(_ s: Int, ofBlock b: Int, in row: UnsafeRawPointer) -> SIMD8<Float> {
        let scale = SIMD8<Float>(repeating: self.scale(half: s >> 1, ofBlock: b, in: row))
        return (floats(codes(s, ofBlock: b, in: row)) - SIMD8(repeating: 32)) * scale
    }

    /// The 6-bit values `u` (0...63) of the slice (see `Q5_0.codes`).
    @inline(__always)
    static func codes(_ s: Int, ofBlock b: Int, in row: UnsafeRawPointer) -> SIMD8<UInt8> {
        let k = b & 7, block = row + 210 * (b >> 3)
        let h = k >> 2, g = k & 3
        let ql = block.loadUnaligned(fromByteOffset: 64 * h + 32 * (g & 1) + 8 * s, as: SIMD8<UInt8>.self)
        let qh = block.loadUnaligned(fromByteOffset: 128 + 32 * h + 8 * s, as: SIMD8<UInt8>.self)
        let low = g < 2 ? ql & SIMD8(repeating: 0x0F) : ql &>> SIMD8(repeating: 4)
        let high = (qh &>> SIMD8(repeating: UInt8(2 * g))) & SIMD8(repeating: 3)
        return low | high &<< SIMD8(repeating: 4)
    }

    /// `d * sc` for elements `16 * half ..< 16 * half + 16` of 32-element block `b`.
    @inline(__always)
    static func scale(half: Int, ofBlock b: Int, in row: UnsafeRawPointer) -> Float {
        let block = row + 210 * (b >> 3)
        // d is the block's last two bytes: an 8-byte load ending there stays inside it.
        let d = scales(block + 202)[3]
        return d * Float(block.load(fromByteOffset: 192 + 2 * (b & 7) + half, as: Int8.self))
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
/// whatever follows, as f32 (callers use only the lanes that are f16 numbers). One zero-extending 8-byte load and one vcvtph2ps: a 2-byte
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
