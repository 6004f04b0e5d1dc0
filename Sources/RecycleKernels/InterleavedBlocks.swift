/// Block-quantized weights rearranged so that one SIMD lane holds one row: the layout the
/// integer matmul reads (built once when a model loads; the file keeps GGML's layout).
///
/// Rows are taken 16 at a time (a group; a last, short group is padded with zero rows).
/// For each group and each 32-element block there is one unit, units in group-major order
/// (group 0's blocks 0, 1, ..., then group 1's). Within a unit, a 64-byte chunk holds four
/// bytes per row, row `r` at bytes `4r ..< 4r + 4`, so that one `byteDot` with the
/// activation's four matching bytes broadcast to all lanes advances all 16 rows by four
/// elements, and no horizontal sums are needed.
///
/// - Q4_1 (320 bytes a unit, the 16 original blocks permuted): chunk `j` (0..<4) holds,
///   for row `r`, bytes `4j ..< 4j + 4` of that row's block: low nibbles are elements
///   `4j ..< 4j + 4`, high nibbles elements `16 + 4j ..< 16 + 4j + 4`. Then the 16 rows'
///   scales `d` (f16) and the 16 minimums `m` (f16). Value = d * nibble + m.
/// - Q8_0 (544 bytes a unit): chunk `j` (0..<8) holds, for row `r`, elements
///   `4j ..< 4j + 4` as `u = q + 128` (unsigned), then the 16 scales `d` (f16).
///   Value = d * (u - 128). Where `byteDot` is exact only below 128 (AVX2), each byte is
///   used as two nibbles, u = 16 * high + low.
/// - Q5_0 (544 bytes a unit): chunk `j` (0..<8) holds, for row `r`, elements `4j ..< 4j + 4`
///   as `u` (0...31, so `byteDot` is exact everywhere), then the 16 scales `d` (f16).
///   Value = d * (u - 16).
/// - Q4_K (384 bytes a unit, one per 32-element sub-block): the sub-block's nibbles re-packed
///   as a Q4_1 block's (byte `i` = element `i` | element `16 + i` << 4) and interleaved like
///   Q4_1's, then the 16 rows' scales `d * sc` (f32) and negated minimums `-(dmin * m)`
///   (f32). Value = (d * sc) * nibble - dmin * m. The scales are f32 because these products
///   need up to 17 bits of mantissa.
/// - Q6_K (640 bytes a unit): chunks as Q5_0's with `u` in 0...63, then the 16 rows' scales
///   `d * sc` (f32) of elements 0..<16, then those of elements 16..<32.
///   Value = (d * sc) * (u - 32).
enum InterleavedBlocks {
    static let rowsPerGroup = 16

    static func unitBytes(_ dtype: DType) -> Int? {
        switch dtype {
        case .q4_1: 320
        case .q8_0: 544
        case .q5_0: 544
        case .q4_k: 384
        case .q6_k: 640
        case .f32, .f16: nil
        }
    }

    /// Writes the interleaved form of `m` (block-quantized) to `out`, which holds
    /// `groups(m.rows) * (m.cols / 32) * unitBytes(m.dtype)` bytes.
    static func write(_ m: Matrix, to out: UnsafeMutableRawPointer) {
        let blocks = m.cols / 32, unit = unitBytes(m.dtype)!
        for g in 0..<groups(m.rows) {
            for b in 0..<blocks {
                let u = out + (g * blocks + b) * unit
                for r in 0..<rowsPerGroup {
                    let row = g * rowsPerGroup + r
                    switch m.dtype {
                    case .q4_1:
                        let block = row < m.rows ? m.row(row) + 20 * b : nil
                        for j in 0..<4 {
                            u.storeBytes(of: block?.loadUnaligned(fromByteOffset: 4 + 4 * j, as: UInt32.self) ?? 0,
                                         toByteOffset: 64 * j + 4 * r, as: UInt32.self)
                        }
                        u.storeBytes(of: block?.loadUnaligned(as: UInt16.self) ?? 0, toByteOffset: 256 + 2 * r, as: UInt16.self)
                        u.storeBytes(of: block?.loadUnaligned(fromByteOffset: 2, as: UInt16.self) ?? 0,
                                     toByteOffset: 288 + 2 * r, as: UInt16.self)
                    case .q8_0:
                        let block = row < m.rows ? m.row(row) + 34 * b : nil
                        for j in 0..<8 {
                            let q = block?.loadUnaligned(fromByteOffset: 2 + 4 * j, as: UInt32.self) ?? 0x8080_8080
                            u.storeBytes(of: q ^ 0x8080_8080, toByteOffset: 64 * j + 4 * r, as: UInt32.self)
                        }
                        u.storeBytes(of: block?.loadUnaligned(as: UInt16.self) ?? 0, toByteOffset: 512 + 2 * r, as: UInt16.self)
                    case .q5_0:
                        let source = row < m.rows ? m.row(row) : nil  // padding rows: all zeros
                        storeCodes(4, u, r) { s in source.map { Q5_0.codes(s, ofBlock: b, in: $0) } ?? .zero }
                        u.storeBytes(of: source?.loadUnaligned(fromByteOffset: 22 * b, as: UInt16.self) ?? 0,
                                     toByteOffset: 512 + 2 * r, as: UInt16.self)
                    case .q4_k:
                        let source = row < m.rows ? m.row(row) : nil
                        let n = { s in source.map { Q4_K.codes(s, ofBlock: b, in: $0) } ?? .zero }
                        // Elements 0..<8 with 16..<24, then 8..<16 with 24..<32, as Q4_1 packs them.
                        storeCodes(2, u, r) { i in n(i) | n(i + 2) &<< 4 }
                        let (scale, minimum) = source.map { Q4_K.scaleAndMinimum(ofBlock: b, in: $0) } ?? (0, 0)
                        u.storeBytes(of: scale, toByteOffset: 256 + 4 * r, as: Float.self)
                        u.storeBytes(of: -minimum, toByteOffset: 320 + 4 * r, as: Float.self)
                    case .q6_k:
                        let source = row < m.rows ? m.row(row) : nil
                        storeCodes(4, u, r) { s in source.map { Q6_K.codes(s, ofBlock: b, in: $0) } ?? .zero }
                        for half in 0..<2 {
                            u.storeBytes(of: source.map { Q6_K.scale(half: half, ofBlock: b, in: $0) } ?? 0,
                                         toByteOffset: 512 + 64 * half + 4 * r, as: Float.self)
                        }
                    case .f32, .f16:
                        preconditionFailure("only block-quantized weights are interleaved")
                    }
                }
            }
        }
    }

    static func groups(_ rows: Int) -> Int { (rows + rowsPerGroup - 1) / rowsPerGroup }

    /// Row `r`'s bytes, eight at a time (`count` times `eight(i)`), into the unit's chunks:
    /// bytes `4j ..< 4j + 4` at `64j + 4r`.
    @inline(__always)
    private static func storeCodes(_ count: Int, _ u: UnsafeMutableRawPointer, _ r: Int, _ eight: (Int) -> SIMD8<UInt8>) {
        for i in 0..<count {
            let pair = unsafeBitCast(eight(i), to: SIMD2<UInt32>.self)
            u.storeBytes(of: pair[0], toByteOffset: 64 * (2 * i) + 4 * r, as: UInt32.self)
            u.storeBytes(of: pair[1], toByteOffset: 64 * (2 * i + 1) + 4 * r, as: UInt32.self)
        }
    }
}
