import Foundation
import RecycleDecoding
import RecycleIntrinsics
import RecycleKernels
import XCTest

/// Kernels against plain scalar references, on synthetic data (odd sizes included), and
/// the batch invariance of the matmul, bit for bit.
final class KernelTests: XCTestCase {
    /// Random weights of every dtype: [rows, cols] encoded as the file format stores them.
    func makeMatrix(_ dtype: DType, rows: Int, cols: Int, seed: UInt64) -> (WeightMatrix, [UInt8]) {
        // The bytes stay allocated for the process: f32 and f16 weights are read in place.
        let (m, bytes) = makeFileMatrix(dtype, rows: rows, cols: cols, seed: seed)
        return (WeightMatrix(m), bytes)
    }

    /// The input as the integer matmul sees it: for block-quantized weights, each 32-element
    /// block of a column becomes `scale * q` (`quantizedInputBlock`).
    func effectiveInput(_ x: [Float], _ dtype: DType, _ precision: InputPrecision) -> [Double] {
        guard dtype.blockElements > 1 else { return x.map(Double.init) }
        var out: [Double] = []
        for b in stride(from: 0, to: x.count, by: 32) {
            let (scale, q, _) = quantizedInputBlock(x[b..<(b + 32)], precision)
            out += q.map { Double(scale) * Double($0) }
        }
        return out
    }

    /// Uniform random inputs in -1...1, one element in 64 40 times larger: blocks with and
    /// without an outlier (about 40% and 60%), so that `.adaptive` quantizes some to 15 bits
    /// and some to 8.
    func mixedInput(_ count: Int, seed: UInt64) -> [Float] {
        var rng = TestRandom(seed: seed)
        return (0..<count).map { _ in Float(rng.uniform(-1, 1) * (rng.next() % 64 == 0 ? 40 : 1)) }
    }

    func makeFileMatrix(_ dtype: DType, rows: Int, cols: Int, seed: UInt64) -> (Matrix, [UInt8]) {
        var rng = TestRandom(seed: seed)
        var bytes: [UInt8] = []
        for _ in 0..<rows {
            for _ in 0..<(cols / dtype.blockElements) {
                switch dtype {
                case .f32: bytes += withUnsafeBytes(of: Float(rng.uniform(-1, 1)).bitPattern.littleEndian, Array.init)
                case .f16: bytes += withUnsafeBytes(of: Float16(rng.uniform(-1, 1)).bitPattern.littleEndian, Array.init)
                case .q8_0:
                    bytes += withUnsafeBytes(of: Float16(rng.uniform(0.001, 0.02)).bitPattern.littleEndian, Array.init)
                    for _ in 0..<32 { bytes.append(UInt8(truncatingIfNeeded: rng.next() % 255 + 129)) }
                case .q4_1:
                    bytes += withUnsafeBytes(of: Float16(rng.uniform(0.001, 0.02)).bitPattern.littleEndian, Array.init)
                    bytes += withUnsafeBytes(of: Float16(rng.uniform(-0.1, 0.0)).bitPattern.littleEndian, Array.init)
                    for _ in 0..<16 { bytes.append(UInt8(truncatingIfNeeded: rng.next())) }
                case .q5_0, .q4_k, .q6_k: bytes += randomBlock(dtype, &rng)
                }
            }
        }
        let base = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        base.copyMemory(from: bytes, byteCount: bytes.count)
        return (Matrix(dtype: dtype, rows: rows, cols: cols, base: base), bytes)
    }

    /// Element (r, c) decoded straight from the format spec, independently of the kernels.
    func referenceElement(_ bytes: [UInt8], _ dtype: DType, cols: Int, r: Int, c: Int) -> Double {
        let rowStart = r * dtype.rowBytes(elements: cols)!
        func f16(_ at: Int) -> Double { Double(Float16(bitPattern: UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8)) }
        switch dtype {
        case .f32:
            let at = rowStart + 4 * c
            return Double(Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * $1) }))
        case .f16: return f16(rowStart + 2 * c)
        case .q8_0:
            let block = rowStart + (c / 32) * 34
            return f16(block) * Double(Int8(bitPattern: bytes[block + 2 + c % 32]))
        case .q4_1:
            let block = rowStart + (c / 32) * 20, j = c % 32
            let byte = bytes[block + 4 + j % 16]
            let nibble = j < 16 ? byte & 0x0F : byte >> 4
            return f16(block) * Double(nibble) + f16(block + 2)
        case .q5_0, .q4_k, .q6_k: return Double(GGMLBlocks.value(bytes, dtype, rowStart: rowStart, c: c))
        }
    }

    func testMatmulMatchesScalarReference() {
        let pool = WorkerPool(threads: 2)
        var blocks = (eightBit: 0, all: 0)
        for dtype in DType.allCases {
            for (rows, cols, n) in [(1, 32, 1), (7, 64, 3), (33, 96, 5), (64, 576, 9), (5, 1536, 4), (19, 768, 3)]
            where cols % dtype.blockElements == 0 {
              for precision in [InputPrecision.fine, .adaptive] {
                let (w, bytes) = makeMatrix(dtype, rows: rows, cols: cols, seed: UInt64(rows * 1000 + cols))
                let x = mixedInput(n * cols, seed: 7)
                let input = effectiveInput(x, dtype, precision)
                for b in stride(from: 0, to: x.count, by: 32) where precision == .adaptive {
                    blocks.all += 1
                    if quantizedInputBlock(x[b..<(b + 32)], precision).eightBit { blocks.eightBit += 1 }
                }
                var y = [Float](repeating: .nan, count: n * rows)
                matmul(w, x: x, xStride: cols, y: &y, yStride: rows, columns: n, precision: precision, pool: pool)
                for j in 0..<n {
                    for r in 0..<rows {
                        var expected = 0.0, magnitude = 0.0
                        for c in 0..<cols {
                            let term = referenceElement(bytes, dtype, cols: cols, r: r, c: c) * input[j * cols + c]
                            expected += term
                            magnitude += abs(term)
                        }
                        // f32 accumulation of `cols` products: error well below 1e-5 of Σ|terms|.
                        XCTAssertEqual(Double(y[j * rows + r]), expected, accuracy: 1e-5 * magnitude + 1e-6,
                                       "\(dtype) \(rows)x\(cols) column \(j) row \(r) (\(precision))")
                    }
                }
              }
            }
        }
        // Both kinds of block were exercised.
        XCTAssertGreaterThan(blocks.eightBit, blocks.all / 5)
        XCTAssertLessThan(blocks.eightBit, blocks.all * 4 / 5)
    }

    /// The 8-bit dot product, whichever instructions this build uses, equals its definition
    /// on random bytes: every unsigned byte below 128 (and every byte where the build says
    /// it takes any), every signed byte.
    func testByteDotMatchesDefinition() {
        var rng = TestRandom(seed: 13)
        let limit: UInt64 = byteDotTakesAnyUnsignedByte ? 256 : 128
        for _ in 0..<2000 {
            var u = SIMD64<UInt8>(), s = SIMD64<Int8>(), acc = SIMD16<Int32>()
            for i in 0..<64 {
                u[i] = UInt8(rng.next() % limit)
                s[i] = Int8(truncatingIfNeeded: rng.next())
            }
            for i in 0..<16 { acc[i] = Int32(truncatingIfNeeded: rng.next() % 2_000_000) - 1_000_000 }
            let got = byteDot(acc, u, s)
            for i in 0..<16 {
                let expected = (0..<4).reduce(acc[i]) { $0 + Int32(u[4 * i + $1]) * Int32(s[4 * i + $1]) }
                XCTAssertEqual(got[i], expected, "lane \(i)")
            }
        }
    }

    func testDequantizeRowMatchesReference() {
        for dtype in DType.allCases {
            let cols = 2 * max(32, dtype.blockElements)
            let (w, bytes) = makeFileMatrix(dtype, rows: 3, cols: cols, seed: 3)
            defer { w.base.deallocate() }
            var row = [Float](repeating: 0, count: cols)
            w.dequantizeRow(2, into: &row)
            for c in 0..<cols {
                // d * n + m is one fused multiply-add in the kernels: within an ulp of the exact value.
                XCTAssertEqual(Double(row[c]), referenceElement(bytes, dtype, cols: cols, r: 2, c: c), accuracy: 1e-6, "\(dtype) \(c)")
            }
        }
    }

    /// A column computed alone equals, bitwise, the same column inside batches of 2...128,
    /// at every position of the batch, with 1 and 2 threads.
    func testMatmulIsBatchInvariant() {
        for dtype in DType.allCases {
            let rows = 37, cols = dtype.blockElements == 256 ? 768 : 576
            let (w, _) = makeMatrix(dtype, rows: rows, cols: cols, seed: 11)
            let batch = mixedInput(128 * cols, seed: 5)
            // Each column alone.
            var alone = [Float](repeating: 0, count: 128 * rows)
            for j in 0..<128 {
                batch.withUnsafeBufferPointer { x in
                    alone.withUnsafeMutableBufferPointer { y in
                        matmul(w, x: x.baseAddress! + j * cols, xStride: cols, y: y.baseAddress! + j * rows,
                               yStride: rows, columns: 1, pool: WorkerPool(threads: 1))
                    }
                }
            }
            for n in [2, 3, 4, 5, 7, 8, 16, 31, 64, 80, 128] {
                for threads in [1, 2] {
                    var y = [Float](repeating: .nan, count: n * rows)
                    // Columns 0..<n of the batch; each sits at its own position j.
                    matmul(w, x: batch, xStride: cols, y: &y, yStride: rows, columns: n, pool: WorkerPool(threads: threads))
                    for j in 0..<n {
                        for r in 0..<rows where y[j * rows + r].bitPattern != alone[j * rows + r].bitPattern {
                            XCTFail("\(dtype): column \(j) of a batch of \(n) (\(threads) threads) differs from the column alone at row \(r)")
                            return
                        }
                    }
                }
            }
        }
    }

    /// A fused call over several matrices (Q, K, V) of different types sharing an input
    /// equals separate calls, bitwise.
    func testFusedMatmulEqualsSeparateCalls() {
        let cols = 512
        let parts = [(DType.q4_1, 13), (.q8_0, 6), (.f16, 9), (.q5_0, 11), (.q4_k, 21), (.q6_k, 37)].enumerated().map { i, p in
            makeMatrix(p.0, rows: p.1, cols: cols, seed: UInt64(20 + i)).0
        }
        let x = mixedInput(8 * cols, seed: 6)
        for n in [1, 3, 5, 8] {
            let pool = WorkerPool(threads: 2)
            var separate = parts.map { [Float](repeating: .nan, count: n * $0.rows) }
            for (i, w) in parts.enumerated() {
                separate[i].withUnsafeMutableBufferPointer {
                    matmul(w, x: x, xStride: cols, y: $0.baseAddress!, yStride: w.rows, columns: n, pool: pool)
                }
            }
            let ys = parts.map { UnsafeMutablePointer<Float>.allocate(capacity: n * $0.rows) }
            defer { for y in ys { y.deallocate() } }
            matmul(zip(parts, ys).map { MatmulOutput($0, y: $1, yStride: $0.rows) }, x: x, xStride: cols, columns: n, pool: pool)
            let fused = zip(parts, ys).map { Array(UnsafeBufferPointer(start: $1, count: n * $0.rows)) }
            for i in parts.indices {
                XCTAssertEqual(fused[i].map(\.bitPattern), separate[i].map(\.bitPattern), "matrix \(i) (\(parts[i].dtype)), \(n) columns")
            }
        }
    }

    func testRMSNormMatchesReference() {
        var rng = TestRandom(seed: 9)
        let x = (0..<576).map { _ in Float(rng.uniform(-3, 3)) }
        let w = (0..<576).map { _ in Float(rng.uniform(0, 2)) }
        var out = [Float](repeating: 0, count: 576)
        rmsNorm(x, weight: w, out: &out, count: 576, eps: 1e-5)
        let meanSquare = x.reduce(0.0) { $0 + Double($1) * Double($1) } / 576
        for i in 0..<576 {
            let expected = Double(x[i]) / (meanSquare + 1e-5).squareRoot() * Double(w[i])
            XCTAssertEqual(Double(out[i]), expected, accuracy: 1e-5 * max(1, abs(expected)))
        }
    }

    func testRopeRotatesAdjacentPairs() {
        let table = RopeTable(headDim: 64, theta: 100_000, pairing: .adjacent, positions: 300)
        var rng = TestRandom(seed: 4)
        let x = (0..<128).map { _ in Float(rng.uniform(-1, 1)) }
        var y = x
        table.apply(&y, heads: 2, position: 257)
        for h in 0..<2 {
            for i in 0..<32 {
                let angle = 257 * pow(100_000.0, -Double(2 * i) / 64)
                let a = Double(x[h * 64 + 2 * i]), b = Double(x[h * 64 + 2 * i + 1])
                XCTAssertEqual(Double(y[h * 64 + 2 * i]), a * cos(angle) - b * sin(angle), accuracy: 1e-6)
                XCTAssertEqual(Double(y[h * 64 + 2 * i + 1]), a * sin(angle) + b * cos(angle), accuracy: 1e-6)
            }
        }
    }

    /// One query through `attend`, and the output it writes.
    func attendAlone(_ q: [Float], k: [Float], v: [Float], stride: Int, first: Int = 0, prefix: Int, extra: [Int32]) -> [Float] {
        let headDim = q.count
        var out = [Float](repeating: .nan, count: headDim)
        var scores = [Float](repeating: 0, count: (prefix - first + extra.count + 15) / 16 * 16)
        q.withUnsafeBufferPointer { q in
            extra.withUnsafeBufferPointer { extra in
                out.withUnsafeMutableBufferPointer { out in
                    let query = [AttentionQuery(query: q.baseAddress!, out: out.baseAddress!, first: first, prefix: prefix, extra: extra)]
                    query.withUnsafeBufferPointer { query in
                        attend(query, keys: k, values: v, stride: stride, headDim: headDim, scale: 1 / Float(headDim).squareRoot(),
                               scores: &scores, scoreStride: scores.count)
                    }
                }
            }
        }
        return out
    }

    func testAttentionMatchesReference() {
        var rng = TestRandom(seed: 8)
        let headDim = 64, stride = 192, count = 37
        let q = (0..<headDim).map { _ in Float(rng.uniform(-1, 1)) }
        let k = (0..<(count * stride)).map { _ in Float(rng.uniform(-1, 1)) }
        let v = (0..<(count * stride)).map { _ in Float(rng.uniform(-1, 1)) }
        // Slots 0..<30 as a prefix (or, through a sliding window, 12..<30), then 31, 33, 36
        // as a tree node's ancestors and itself.
        let extra: [Int32] = [31, 33, 36]
        for first in [0, 12] {
            let visible = Array(first..<30) + extra.map(Int.init)
            let out = attendAlone(q, k: k, v: v, stride: stride, first: first, prefix: 30, extra: extra)
            let s = visible.map { j in (0..<headDim).reduce(0.0) { $0 + Double(q[$1]) * Double(k[j * stride + $1]) } / 8 }
            let m = s.max()!, e = s.map { exp($0 - m) }, total = e.reduce(0, +)
            for d in 0..<headDim {
                let expected = zip(visible, e).reduce(0.0) { $0 + $1.1 / total * Double(v[$1.0 * stride + d]) }
                XCTAssertEqual(Double(out[d]), expected, accuracy: 1e-5, "window from \(first)")
            }
        }
        // The same keys as a plain prefix or listed one by one: the same bits.
        let listed = attendAlone(q, k: k, v: v, stride: stride, prefix: 0, extra: (0..<Int32(count)).map { $0 })
        let plain = attendAlone(q, k: k, v: v, stride: stride, prefix: count, extra: [])
        XCTAssertEqual(listed.map(\.bitPattern), plain.map(\.bitPattern))
    }

    /// Queries that share a sweep get, bit for bit, what each gets alone, whatever their
    /// windows, prefixes, extras and number (1 to 8), including windows that leave no
    /// slot common to all.
    func testSharedAttentionSweepEqualsQueriesAlone() {
        var rng = TestRandom(seed: 12)
        let headDim = 64, stride = 64, count = 300
        let k = (0..<(count * stride)).map { _ in Float(rng.uniform(-2, 2)) }
        let v = (0..<(count * stride)).map { _ in Float(rng.uniform(-2, 2)) }
        let queries = (0..<8).map { _ in (0..<headDim).map { _ in Float(rng.uniform(-2, 2)) } }
        let firsts = [0, 200, 0, 5, 240, 290, 0, 249]
        let prefixes = [250, 250, 261, 17, 250, 299, 0, 250]
        let extras: [[Int32]] = [[], [251, 260], [270], [], [255, 256, 257], [], [3, 9, 299], [252]]
        let alone = (0..<8).map {
            attendAlone(queries[$0], k: k, v: v, stride: stride, first: firsts[$0], prefix: prefixes[$0], extra: extras[$0])
        }
        for size in 1...8 {
            let scoreStride = 320
            var scores = [Float](repeating: 0, count: 8 * scoreStride)
            var outs = [[Float]](repeating: [Float](repeating: .nan, count: headDim), count: size)
            let qp = queries.map { q in let p = UnsafeMutablePointer<Float>.allocate(capacity: headDim); p.initialize(from: q, count: headDim); return p }
            let op = (0..<size).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: headDim) }
            let ep = extras.map { e in let p = UnsafeMutablePointer<Int32>.allocate(capacity: max(1, e.count)); p.initialize(from: e, count: e.count); return p }
            defer { (qp + op).forEach { $0.deallocate() }; ep.forEach { $0.deallocate() } }
            let batch = (0..<size).map {
                AttentionQuery(query: qp[$0], out: op[$0], first: firsts[$0], prefix: prefixes[$0],
                               extra: UnsafeBufferPointer(start: ep[$0], count: extras[$0].count))
            }
            batch.withUnsafeBufferPointer {
                attend($0, keys: k, values: v, stride: stride, headDim: headDim, scale: 0.125, scores: &scores, scoreStride: scoreStride)
            }
            for i in 0..<size {
                outs[i] = Array(UnsafeBufferPointer(start: op[i], count: headDim))
                XCTAssertEqual(outs[i].map(\.bitPattern), alone[i].map(\.bitPattern), "query \(i) of \(size)")
            }
        }
    }

    /// The softmax exponential against `exp`, over the range softmax uses.
    func testExponentialIsAccurate() {
        var x: Float = -90
        while x <= 0 {
            let v = SIMD16<Float>(repeating: x)
            let e = softmaxExponentialForTesting(v)[0]
            if x < -87 {
                XCTAssertEqual(e, 0)
            } else {
                XCTAssertEqual(Double(e), Foundation.exp(Double(x)), accuracy: 3e-7 * Foundation.exp(Double(x)), "x = \(x)")
            }
            x += 0.0137
        }
        XCTAssertEqual(softmaxExponentialForTesting(SIMD16(repeating: -.infinity))[0], 0)
        XCTAssertEqual(softmaxExponentialForTesting(SIMD16(repeating: 0))[0], 1)
        x = 0
        while x <= 88 {
            let e = softmaxExponentialForTesting(SIMD16(repeating: x))[0]
            XCTAssertEqual(Double(e), Foundation.exp(Double(x)), accuracy: 3e-7 * Foundation.exp(Double(x)), "x = \(x)")
            x += 0.0137
        }
    }

    /// The gated feed-forwards' activations against their definitions in double, from
    /// -1000 to 1000 (where e^-g would overflow a float).
    func testGatesMatchDefinitions() {
        var gates: [Float] = [0, 1e-30, -1e-30, 1000, -1000, 88, -88, 100, -100]
        var rng = TestRandom(seed: 21)
        while gates.count < 4096 { gates.append(Float(rng.uniform(-20, 20))) }
        let up = (0..<gates.count).map { _ in Float(rng.uniform(-2, 2)) }
        func silu(_ g: Double) -> Double { g / (1 + Foundation.exp(-g)) }
        // g/2 (1 + tanh y) in the form 1 + tanh y = 2 / (1 + e^-2y), which keeps its digits where
        // tanh y is near -1 (the tanh form cancels to 0 there, even in double).
        func gelu(_ g: Double) -> Double { g / (1 + Foundation.exp(-2 * 0.797_884_560_802_865_4 * (g + 0.044715 * g * g * g))) }
        for (name, kernel, definition) in [("silu", siluMultiply, silu), ("gelu", geluMultiply, gelu)] {
            var y = gates
            kernel(&y, up, y.count)
            for i in gates.indices {
                let expected = definition(Double(gates[i])) * Double(up[i])
                // Relative 1e-5: e^-z carries z's float rounding, |z| * 6e-8 (gelu's z reaches 60
                // in these tails), on top of exp16's 3e-7 and a few float operations.
                XCTAssertEqual(Double(y[i]), expected, accuracy: 1e-5 * abs(expected) + 1e-30, "\(name)(\(gates[i]))")
            }
        }
    }
}

/// Deterministic test data.
struct TestRandom {
    var generator: SplitMix64
    init(seed: UInt64) { generator = SplitMix64(seed: seed) }
    mutating func next() -> UInt64 { generator.next() }
    mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * generator.nextUnitDouble() }
}
