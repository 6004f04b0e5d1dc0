/// Q4_1 and Q8_0 weights rearranged so that one SIMD lane holds one row: the layout the
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
enum InterleavedBlocks {
    static let rowsPerGroup = 16

    static func unitBytes(_ dtype: DType) -> Int? {
        switch dtype {
        case .q4_1: 320
        case .q8_0: 544
        case .f32, .f16: nil
        }
    }

    /// Writes the interleaved form of `m` (Q4_1 or Q8_0) to `out`, which holds
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
                    case .f32, .f16:
                        preconditionFailure("only block-quantized weights are interleaved")
                    }
                }
            }
        }
    }

    static func groups(_ rows: Int) -> Int { (rows + rowsPerGroup - 1) / rowsPerGroup }
}
