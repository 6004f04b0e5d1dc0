import RecycleKernels
import XCTest

/// Q5_0, Q4_K and Q6_K weights: the decoders against GGML's definitions, the integer matmul
/// against a scalar model of its arithmetic (docs/FORMAT.md, "Matmul arithmetic"), bit for
/// bit, and its batch invariance (KernelTests' fused-matmul test mixes them with the other
/// types).
final class KQuantKernelTests: XCTestCase {
    static let types: [DType] = [.q5_0, .q4_k, .q6_k]

    /// Row-major matrix of random blocks, with the bytes the kernels read.
    func makeMatrix(_ dtype: DType, rows: Int, cols: Int, seed: UInt64) -> (Matrix, [UInt8]) {
        var rng = TestRandom(seed: seed)
        var bytes: [UInt8] = []
        for _ in 0..<(rows * cols / dtype.blockElements) { bytes += randomBlock(dtype, &rng) }
        // Stays allocated for the process: the interleaved copy is made from it, and tests
        // decode it again.
        let base = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
        base.copyMemory(from: bytes, byteCount: bytes.count)
        return (Matrix(dtype: dtype, rows: rows, cols: cols, base: base), bytes)
    }

    func testDequantizeRowEqualsGGMLDefinition() {
        for dtype in Self.types {
            let rows = 5, cols = dtype == .q5_0 ? 96 : 768
            let (m, bytes) = makeMatrix(dtype, rows: rows, cols: cols, seed: 31)
            var row = [Float](repeating: .nan, count: cols)
            for r in 0..<rows {
                m.dequantizeRow(r, into: &row)
                let rowStart = r * m.rowBytes
                for c in 0..<cols where row[c].bitPattern != GGMLBlocks.value(bytes, dtype, rowStart: rowStart, c: c).bitPattern {
                    XCTFail("\(dtype) row \(r) element \(c): \(row[c]) != \(GGMLBlocks.value(bytes, dtype, rowStart: rowStart, c: c))")
                    break
                }
            }
        }
    }

    /// A fixed block of each type (byte i = (37 i + 11) mod 256, scales 0.0123 and -0.0047)
    /// decodes to the values gguf-py's `quants.dequantize` gives (the ground truth the Gemma
    /// fixtures were made with), bit for bit, at elements that cover every part of the layout.
    func testDecodersMatchGGUFPyOnAFixedBlock() {
        let expected: [(DType, [Int: UInt32])] = [
            (.q5_0, [0: 0x3DE2_B000, 1: 0xBCC9_8000, 15: 0xBE17_2000, 16: 0x3E30_5000, 17: 0, 31: 0x3C49_8000]),
            (.q4_k, [0: 0x408D_DF40, 5: 0x3FE1_E200, 31: 0x4021_BE00, 32: 0x3EB7_B000, 63: 0x3F40_9800, 64: 0x40BA_AAC0,
                     100: 0x3FC4_C400, 127: 0x3FAE_BA00, 128: 0x40AA_A3C0, 130: 0x401D_1880, 191: 0x3F61_0000,
                     192: 0x40D6_AEC0, 200: 0x3FF1_A300, 255: 0x3F79_E800]),
            (.q6_k, [0: 0xC18C_CB50, 5: 0x4192_0240, 31: 0xBF97_2000, 32: 0x4035_D280, 63: 0xC0E4_4300, 64: 0xC215_8D00,
                     100: 0x41F8_3C10, 127: 0x4193_9540, 128: 0xC08A_2340, 130: 0x3FE1_1D00, 191: 0xC140_D780,
                     192: 0xC0BE_7B00, 200: 0x4156_4A60, 255: 0xBF3C_E800]),
        ]
        for (dtype, values) in expected {
            var bytes = (0..<dtype.blockBytes).map { UInt8(($0 * 37 + 11) % 256) }
            let scales: [Int] = dtype == .q5_0 ? [0] : dtype == .q4_k ? [0, 2] : [208]
            for (k, at) in scales.enumerated() {
                let h = Float16(k == 0 ? 0.0123 : -0.0047).bitPattern
                bytes[at] = UInt8(h & 0xFF)
                bytes[at + 1] = UInt8(h >> 8)
            }
            let base = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
            defer { base.deallocate() }
            base.copyMemory(from: bytes, byteCount: bytes.count)
            var row = [Float](repeating: .nan, count: dtype.blockElements)
            Matrix(dtype: dtype, rows: 1, cols: dtype.blockElements, base: base).dequantizeRow(0, into: &row)
            for (c, bits) in values {
                XCTAssertEqual(row[c].bitPattern, bits, "\(dtype) element \(c): \(row[c])")
                XCTAssertEqual(GGMLBlocks.value(bytes, dtype, rowStart: 0, c: c).bitPattern, bits, "\(dtype) element \(c), scalar decoder")
            }
        }
    }

    /// Exact integer sums, then FORMAT.md's f32 sequence: the kernels' result bit for bit.
    func testMatmulEqualsScalarArithmetic() {
        let pool = WorkerPool(threads: 2)
        for dtype in Self.types {
            for (rows, cols, n) in [(1, 256, 1), (37, 768, 5), (16, 512, 4), (50, 1280, 9)] {
                let (m, bytes) = makeMatrix(dtype, rows: rows, cols: cols, seed: UInt64(rows * 7 + cols))
                let w = WeightMatrix(m)
                var rng = TestRandom(seed: 17)
                // Mixed magnitudes (blocks with an outlier and without), and an all-zero block
                // (scale 0) in column 0.
                var x = (0..<(n * cols)).map { _ in Float(rng.uniform(-1, 1) * (rng.next() % 64 == 0 ? 40 : 1)) }
                for j in 32..<64 { x[j] = 0 }
                for precision in [InputPrecision.fine, .adaptive] {
                    var y = [Float](repeating: .nan, count: n * rows)
                    matmul(w, x: x, xStride: cols, y: &y, yStride: rows, columns: n, precision: precision, pool: pool)
                    for j in 0..<n {
                        let column = Array(x[(j * cols)..<((j + 1) * cols)])
                        for r in 0..<rows {
                            let expected = scalarMatmul(bytes, dtype, rowStart: r * m.rowBytes, cols: cols, x: column, precision)
                            XCTAssertEqual(y[j * rows + r].bitPattern, expected.bitPattern,
                                           "\(dtype) \(rows)x\(cols) column \(j) row \(r) (\(precision)): \(y[j * rows + r]) != \(expected)")
                        }
                    }
                }
            }
        }
    }

    /// Each column of a pool computed alone equals, bitwise, the same column at every
    /// position of batches of 1...9, 16 and 17 columns (every tile width, and a 16-column
    /// tile next to a 1-column one), with 1 and 3 threads (37 rows: a short group).
    func testMatmulIsBatchInvariant() {
        for dtype in Self.types {
            let rows = 37, cols = 768, pooled = 17
            let w = WeightMatrix(makeMatrix(dtype, rows: rows, cols: cols, seed: 41).0)
            var rng = TestRandom(seed: 43)
            // Blocks with an outlier (15 bits) and without (8 bits).
            let x = (0..<(pooled * cols)).map { _ in Float(rng.uniform(-3, 3) * (rng.next() % 64 == 0 ? 40 : 1)) }
            var alone = [Float](repeating: .nan, count: pooled * rows)
            for j in 0..<pooled {
                x.withUnsafeBufferPointer { x in
                    alone.withUnsafeMutableBufferPointer { y in
                        matmul(w, x: x.baseAddress! + j * cols, xStride: cols, y: y.baseAddress! + j * rows, yStride: rows,
                               columns: 1, pool: WorkerPool(threads: 1))
                    }
                }
            }
            for threads in [1, 3] {
                let pool = WorkerPool(threads: threads)
                for n in Array(1...9) + [16, 17] {
                    for first in 0...(pooled - n) {
                        var y = [Float](repeating: .nan, count: n * rows)
                        x.withUnsafeBufferPointer { x in
                            matmul(w, x: x.baseAddress! + first * cols, xStride: cols, y: &y, yStride: rows, columns: n, pool: pool)
                        }
                        let expected = alone[(first * rows)..<((first + n) * rows)]
                        XCTAssertEqual(y.map(\.bitPattern), expected.map(\.bitPattern),
                                       "\(dtype): columns \(first)..<\(first + n) as a batch (\(threads) threads)")
                    }
                }
            }
        }
    }

    /// What the integer matmul computes for one row and one input column, written out
    /// scalar: the input quantized per 32-element block (`s_b`, `q`), exact integer sums,
    /// then per block (per half for Q6_K) the f32 fused multiply-adds of FORMAT.md.
    func scalarMatmul(_ bytes: [UInt8], _ dtype: DType, rowStart: Int, cols: Int, x: [Float], _ precision: InputPrecision) -> Float {
        var acc: Float = 0
        for b in 0..<(cols / 32) {
            let (sb, q, _) = quantizedInputBlock(x[(32 * b)..<(32 * b + 32)], precision)
            let elements = (0..<32).map { GGMLBlocks.element(bytes, dtype, rowStart: rowStart, c: 32 * b + $0) }
            switch dtype {
            case .q5_0:
                let s = (0..<32).reduce(0) { $0 + q[$1] * elements[$1].code }
                acc = acc.addingProduct(Float(s) * elements[0].scale, sb)
            case .q4_k:
                let s = (0..<32).reduce(0) { $0 + q[$1] * elements[$1].code }
                acc = acc.addingProduct(Float(s) * elements[0].scale, sb)
                acc = acc.addingProduct(-elements[0].minimum, sb * Float(q.reduce(0, +)))
            case .q6_k:
                for half in 0..<2 {
                    let s = (16 * half ..< 16 * half + 16).reduce(0) { $0 + q[$1] * elements[$1].code }
                    acc = acc.addingProduct(Float(s) * elements[16 * half].scale, sb)
                }
            default: preconditionFailure("not a type of this test")
            }
        }
        return acc
    }
}

/// Plain scalar decoders of GGML's Q5_0, Q4_K and Q6_K blocks, written from the loops of
/// ggml-quants.c (dequantize_row_q5_0, dequantize_row_q4_K with get_scale_min_k4,
/// dequantize_row_q6_K), independently of the kernels' decoders.
enum GGMLBlocks {
    /// Element `c` of a row: the integer that multiplies the input (`u - 16`, the nibble,
    /// `u - 32`), its f32 scale, and the f32 minimum subtracted (Q4_K; else 0).
    struct Element {
        let code: Int
        let scale: Float
        let minimum: Float
    }

    static func f16(_ b: [UInt8], _ at: Int) -> Float { Float(Float16(bitPattern: UInt16(b[at]) | UInt16(b[at + 1]) << 8)) }

    static func element(_ b: [UInt8], _ dtype: DType, rowStart: Int, c: Int) -> Element {
        switch dtype {
        case .q5_0:
            let x = rowStart + 22 * (c / 32), j = c % 32
            let qh = (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[x + 2 + $1]) << (8 * $1) }
            let nibble = j < 16 ? Int(b[x + 6 + j] & 0x0F) : Int(b[x + 6 + j - 16] >> 4)
            let u = nibble | Int((qh >> j) & 1) << 4
            return Element(code: u - 16, scale: f16(b, x), minimum: 0)
        case .q4_k:
            // ggml walks 64 elements at a time: 32 low nibbles (scale pair is), 32 high (is + 1).
            let x = rowStart + 144 * (c / 256), i = c % 256
            let chunk = i / 64, l = i % 32, high = i % 64 >= 32
            let byte = b[x + 16 + 32 * chunk + l]
            let (sc, m) = scaleMin(2 * chunk + (high ? 1 : 0), Array(b[(x + 4)..<(x + 16)]))
            return Element(code: Int(high ? byte >> 4 : byte & 0x0F), scale: f16(b, x) * Float(sc), minimum: f16(b, x + 2) * Float(m))
        case .q6_k:
            // ggml walks 128 elements at a time; element l of each 32 reads ql[l], ql[l + 32]
            // (low then high nibbles) and bit pairs 0, 1, 2, 3 of qh[l].
            let x = rowStart + 210 * (c / 256), i = c % 256
            let n = i / 128, quarter = (i % 128) / 32, l = i % 32
            let ql = b[x + 64 * n + l + 32 * (quarter % 2)], qh = b[x + 128 + 32 * n + l]
            let u = Int(quarter < 2 ? ql & 0x0F : ql >> 4) | Int((qh >> (2 * quarter)) & 3) << 4
            let sc = Int8(bitPattern: b[x + 192 + 8 * n + l / 16 + 2 * quarter])
            return Element(code: u - 32, scale: f16(b, x + 208) * Float(sc), minimum: 0)
        default: preconditionFailure("not a GGML k-quant or Q5_0")
        }
    }

    /// ggml's get_scale_min_k4.
    static func scaleMin(_ j: Int, _ q: [UInt8]) -> (UInt8, UInt8) {
        if j < 4 { return (q[j] & 63, q[j + 4] & 63) }
        return ((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4))
    }

    /// The f32 value of element `c`, computed as ggml does.
    static func value(_ b: [UInt8], _ dtype: DType, rowStart: Int, c: Int) -> Float {
        let e = element(b, dtype, rowStart: rowStart, c: c)
        return e.scale * Float(e.code) - e.minimum
    }
}

/// One random but valid block of Q5_0, Q4_K or Q6_K: finite f16 scales of either sign (the
/// decoders must not assume a sign), every other byte random.
func randomBlock(_ dtype: DType, _ rng: inout TestRandom) -> [UInt8] {
    func f16(_ lo: Double, _ hi: Double) -> [UInt8] {
        withUnsafeBytes(of: Float16(rng.uniform(lo, hi)).bitPattern.littleEndian, Array.init)
    }
    func random(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
    switch dtype {
    case .q5_0: return f16(-0.02, 0.02) + random(20)
    case .q4_k: return f16(-0.003, 0.003) + f16(-0.003, 0.003) + random(140)
    case .q6_k: return random(208) + f16(-0.003, 0.003)
    default: preconditionFailure("randomBlock makes only Q5_0, Q4_K and Q6_K blocks")
    }
}
