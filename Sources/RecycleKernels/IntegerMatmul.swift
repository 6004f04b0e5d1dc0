import RecycleIntrinsics

/// The integer matmul: interleaved block-quantized weights (`InterleavedBlocks`) times
/// activations quantized to 15 bits per block, as a high and a low byte
/// (`QuantizedActivations`).
///
/// A 16-row group's weights for a block (a unit) are read once (4-bit ones unpacked to
/// nibbles) and serve a tile of up to `maximumTile` columns; each `byteDot` multiplies four
/// elements of all 16 rows by four of a column's bytes (broadcast), so no horizontal sums
/// are needed. A 15-bit block's high bytes and low bytes take one pass each,
/// `Σ w q = 128 Σ w high + Σ w low`; an 8-bit block's bytes one, `Σ w q = Σ w high`
/// (`QuantizedActivations.fine` says which).
///
/// Per (row, column) and block the integer sum is exact; the floating-point part is, for
/// every block in order, `t = Float(sum) * d`, `acc = fma(t, xScale, acc)` and for Q4_1
/// `acc = fma(m, xScale * Σq, acc)` (Q4_K: `acc = fma(-(dmin * m), xScale * Σq, acc)`;
/// Q6_K: two such `t` per block, one per 16-element half; see docs/FORMAT.md, "Matmul
/// arithmetic"). That sequence is the same whatever the batch size, the tile width or the
/// column's place in it (batch invariance).
struct IntegerMatmulJob {
    let w: WeightMatrix
    let x: QuantizedActivations
    let y: UnsafeMutablePointer<Float>, yStride: Int

    /// Computes row groups `groups` (of 16 rows) for every column.
    func run(groups: Range<Int>) {
        switch w.dtype {
        case .q4_1: run(Q4_1Unit.self, groups: groups)
        case .q8_0: run(Q8_0Unit.self, groups: groups)
        case .q5_0: run(Q5_0Unit.self, groups: groups)
        case .q4_k: run(Q4_KUnit.self, groups: groups)
        case .q6_k: run(Q6_KUnit.self, groups: groups)
        case .f32, .f16: preconditionFailure("float weights take the float matmul")
        }
    }

    /// Columns per tile where the build has 32 vector registers (AVX-512): 16 for units
    /// that hold their weights in registers for the whole tile (`IntegerUnit.holdsWeights`:
    /// 16 accumulators and eight planes fit, and the unpacking per column halves against 8:
    /// measured 4-8% faster N = 16 passes on SmolLM2), 8 for the others, which re-read
    /// their bytes per column and would only spill. 4 elsewhere (16 registers).
    private static func maximumTile<U: IntegerUnit>(_: U.Type) -> Int {
        byteDotHasWideRegisters ? (U.holdsWeights ? 16 : 8) : 4
    }

    /// How far ahead of the unit in use the tile asks for weights (`prefetch`): 4 kB, a
    /// dozen Q4_1 units. The units of a row group, and the groups of a chunk, lie end to end,
    /// so this runs ahead of the one stream a thread reads. Without it the loads waited on
    /// memory: on the 2-vCPU Sapphire Rapids VM, decode at 1 thread read its weights at about
    /// half of `recycle-bench memread`'s rate, and the prefetch made N = 1, 8 and 16 passes
    /// 25-35% faster (2, 8 and 16 kB were measured too: no better; RESULTS.md, Part 12).
    private static var prefetchDistance: Int { 4096 }

    /// `run` for one unit type: a function of its own per type, which calls one
    /// specialization of `tile` per width (a type, so that the width is a constant in each:
    /// as an argument the optimizer left one outlined copy that tests it per block and column).
    private func run<U: IntegerUnit>(_: U.Type, groups: Range<Int>) {
        let widest = Self.maximumTile(U.self)
        for g in groups {
            var n = 0
            while n < x.columns {
                let left = x.columns - n
                let width = left >= widest ? widest : left >= 8 && widest >= 8 ? 8 : min(left, 4)
                switch width {
                case 1: tile(U.self, Width1.self, group: g, column: n)
                case 2: tile(U.self, Width2.self, group: g, column: n)
                case 3: tile(U.self, Width3.self, group: g, column: n)
                case 4: tile(U.self, Width4.self, group: g, column: n)
                case 8: tile(U.self, Width8.self, group: g, column: n)
                default:
                    // `widest` is a constant per unit type and build, so units whose widest
                    // tile is 8 or 4 get no 16-column tile compiled (Q6_K's would spill).
                    guard widest == 16 else { preconditionFailure("a tile wider than \(widest) columns") }
                    tile(U.self, Width16.self, group: g, column: n)
                }
                n += width
            }
        }
    }

    /// Columns `n ..< n + W.columns` of group `g`: every block, one unit of type `U` at a
    /// time. Column `n + k`'s block `b` is activation block `b * columns + n + k`
    /// (`QuantizedActivations` is block-major), so a tile's columns sit at fixed offsets
    /// from one index per block.
    private func tile<U: IntegerUnit, W: TileWidth>(_: U.Type, _: W.Type, group g: Int, column n: Int) {
        let width = W.columns
        var acc = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(),
                   SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(),
                   SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(),
                   SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
        let blocks = x.blocks, columns = x.columns
        let units = UnsafeRawPointer(w.interleaved!) + g * blocks * U.bytes
        // Wrapping arithmetic: indices are in range by construction, no overflow checks.
        for b in 0..<blocks {
            prefetch(units + (b &* U.bytes &+ Self.prefetchDistance), bytes: U.bytes)
            let unit = U(units + b &* U.bytes), i = b &* columns &+ n
            unit.column(x, i, &acc.0)
            if width > 1 { unit.column(x, i &+ 1, &acc.1) }
            if width > 2 { unit.column(x, i &+ 2, &acc.2) }
            if width > 3 { unit.column(x, i &+ 3, &acc.3) }
            if width > 4 {
                unit.column(x, i &+ 4, &acc.4); unit.column(x, i &+ 5, &acc.5)
                unit.column(x, i &+ 6, &acc.6); unit.column(x, i &+ 7, &acc.7)
            }
            if width > 8 {
                unit.column(x, i &+ 8, &acc.8); unit.column(x, i &+ 9, &acc.9)
                unit.column(x, i &+ 10, &acc.10); unit.column(x, i &+ 11, &acc.11)
                unit.column(x, i &+ 12, &acc.12); unit.column(x, i &+ 13, &acc.13)
                unit.column(x, i &+ 14, &acc.14); unit.column(x, i &+ 15, &acc.15)
            }
        }
        store(acc.0, group: g, column: n)
        if width > 1 { store(acc.1, group: g, column: n &+ 1) }
        if width > 2 { store(acc.2, group: g, column: n &+ 2) }
        if width > 3 { store(acc.3, group: g, column: n &+ 3) }
        if width > 4 {
            store(acc.4, group: g, column: n &+ 4); store(acc.5, group: g, column: n &+ 5)
            store(acc.6, group: g, column: n &+ 6); store(acc.7, group: g, column: n &+ 7)
        }
        if width > 8 {
            store(acc.8, group: g, column: n &+ 8); store(acc.9, group: g, column: n &+ 9)
            store(acc.10, group: g, column: n &+ 10); store(acc.11, group: g, column: n &+ 11)
            store(acc.12, group: g, column: n &+ 12); store(acc.13, group: g, column: n &+ 13)
            store(acc.14, group: g, column: n &+ 14); store(acc.15, group: g, column: n &+ 15)
        }
    }

    @inline(__always)
    private func store(_ a: SIMD16<Float>, group g: Int, column n: Int) {
        let r0 = g * InterleavedBlocks.rowsPerGroup, out = y + n * yStride + r0
        if r0 + 16 <= w.rows {
            UnsafeMutableRawPointer(out).storeBytes(of: a, as: SIMD16<Float>.self)
        } else {
            for r in 0..<(w.rows - r0) { out[r] = a[r] }
        }
    }
}

/// Columns of a tile: 1, 2, 3, 4, 8 or 16.
private protocol TileWidth { static var columns: Int { get } }
private enum Width1: TileWidth { static var columns: Int { 1 } }
private enum Width2: TileWidth { static var columns: Int { 2 } }
private enum Width3: TileWidth { static var columns: Int { 3 } }
private enum Width4: TileWidth { static var columns: Int { 4 } }
private enum Width8: TileWidth { static var columns: Int { 8 } }
private enum Width16: TileWidth { static var columns: Int { 16 } }

/// A 16-row x 32-element unit of interleaved weights (`InterleavedBlocks`), read once and
/// applied to a tile's columns.
private protocol IntegerUnit {
    /// Bytes of one unit.
    static var bytes: Int { get }
    /// Whether `init` loads (and unpacks) the unit's weights into registers that every
    /// column of the tile then uses, rather than each column reading them again.
    static var holdsWeights: Bool { get }
    init(_ unit: UnsafeRawPointer)
    /// Adds activation block `i` (a column's block: `QuantizedActivations`) into `a`.
    func column(_ x: QuantizedActivations, _ i: Int, _ a: inout SIMD16<Float>)
}

/// The 32 nibbles per row of a Q4_1-style unit (256 bytes), unpacked once into eight
/// byte planes: `l0...l3` elements 0..<16, `h0...h3` elements 16..<32, four per row each.
/// Its methods are `@_transparent` (always inlined, by the compiler's mandatory pass): in
/// the AVX2 build, where each SIMD64 is two registers, `@inline(__always)` was not honoured
/// and the outlined calls made the kernel about 20x slower.
private struct NibblePlanes {
    let l0, l1, l2, l3, h0, h1, h2, h3: SIMD64<UInt8>

    @inline(__always)
    init(_ unit: UnsafeRawPointer) {
        let c0 = unit.load(as: SIMD64<UInt8>.self), c1 = unit.load(fromByteOffset: 64, as: SIMD64<UInt8>.self)
        let c2 = unit.load(fromByteOffset: 128, as: SIMD64<UInt8>.self), c3 = unit.load(fromByteOffset: 192, as: SIMD64<UInt8>.self)
        l0 = lowNibbles(c0); l1 = lowNibbles(c1); l2 = lowNibbles(c2); l3 = lowNibbles(c3)
        h0 = highNibbles(c0); h1 = highNibbles(c1); h2 = highNibbles(c2); h3 = highNibbles(c3)
    }

    /// One byte plane of a column's block: two chains of four, since a dot product's latency
    /// (5 cycles on Ice Lake) would otherwise bound a single column.
    @_transparent
    func pass(_ q: UnsafePointer<Int8>) -> SIMD16<Int32> {
        var s = byteDot(SIMD16<Int32>(), l0, broadcast(q, 0)), t = byteDot(SIMD16<Int32>(), h0, broadcast(q, 16))
        s = byteDot(s, l1, broadcast(q, 4)); t = byteDot(t, h1, broadcast(q, 20))
        s = byteDot(s, l2, broadcast(q, 8)); t = byteDot(t, h2, broadcast(q, 24))
        s = byteDot(s, l3, broadcast(q, 12)); t = byteDot(t, h3, broadcast(q, 28))
        return s &+ t
    }

    /// `Σ n q` over activation block `i`, exact.
    @_transparent
    func dot(_ x: QuantizedActivations, _ i: Int) -> SIMD16<Int32> {
        let at = 32 &* i  // wrapping: in range by construction, no overflow checks
        let high = pass(x.high + at)
        return x.fine[i] ? high &* SIMD16(repeating: 128) &+ pass(x.low + at) : high
    }
}

/// One Q4_1 unit: nibbles, then f16 scales and minimums.
private struct Q4_1Unit: IntegerUnit {
    static var bytes: Int { 320 }
    static var holdsWeights: Bool { true }
    let nibbles: NibblePlanes
    let d, m: SIMD16<Float>

    @inline(__always)
    init(_ unit: UnsafeRawPointer) {
        nibbles = NibblePlanes(unit)
        d = floats(unit.load(fromByteOffset: 256, as: SIMD16<Float16>.self))
        m = floats(unit.load(fromByteOffset: 288, as: SIMD16<Float16>.self))
    }

    @_transparent
    func column(_ x: QuantizedActivations, _ i: Int, _ a: inout SIMD16<Float>) {
        let s = nibbles.dot(x, i)
        a = a.addingProduct(floats(s) * d, SIMD16(repeating: x.scale[i]))
        a = a.addingProduct(m, SIMD16(repeating: x.scaledSum[i]))
    }
}

/// One Q4_K unit (a 32-element sub-block): nibbles as Q4_1's, then f32 scales `d * sc` and
/// negated minimums `-(dmin * m)`.
private struct Q4_KUnit: IntegerUnit {
    static var bytes: Int { 384 }
    static var holdsWeights: Bool { true }
    let nibbles: NibblePlanes
    let d, negatedMinimum: SIMD16<Float>

    @inline(__always)
    init(_ unit: UnsafeRawPointer) {
        nibbles = NibblePlanes(unit)
        d = unit.load(fromByteOffset: 256, as: SIMD16<Float>.self)
        negatedMinimum = unit.load(fromByteOffset: 320, as: SIMD16<Float>.self)
    }

    @_transparent
    func column(_ x: QuantizedActivations, _ i: Int, _ a: inout SIMD16<Float>) {
        let s = nibbles.dot(x, i)
        a = a.addingProduct(floats(s) * d, SIMD16(repeating: x.scale[i]))
        a = a.addingProduct(negatedMinimum, SIMD16(repeating: x.scaledSum[i]))
    }
}

/// One Q8_0 unit (16 rows x 32 weights, offset by 128), applied to columns.
private struct Q8_0Unit: IntegerUnit {
    static var bytes: Int { 544 }
    static var holdsWeights: Bool { true }
    /// The weight bytes of elements `4j ..< 4j + 4` of the 16 rows, `j` = 0...7: read once
    /// for all the tile's columns.
    let c0, c1, c2, c3, c4, c5, c6, c7: SIMD64<UInt8>
    let d: SIMD16<Float>

    @inline(__always)
    init(_ unit: UnsafeRawPointer) {
        // Unaligned: a unit is 544 bytes, so only every other one starts on 64 bytes.
        func chunk(_ j: Int) -> SIMD64<UInt8> { unit.loadUnaligned(fromByteOffset: 64 * j, as: SIMD64<UInt8>.self) }
        c0 = chunk(0); c1 = chunk(1); c2 = chunk(2); c3 = chunk(3)
        c4 = chunk(4); c5 = chunk(5); c6 = chunk(6); c7 = chunk(7)
        d = floats(unit.loadUnaligned(fromByteOffset: 512, as: SIMD16<Float16>.self))
    }

    /// Chunk `j` (a constant once the loops below are unrolled).
    @_transparent
    func chunk(_ j: Int) -> SIMD64<UInt8> {
        switch j {
        case 0: c0
        case 1: c1
        case 2: c2
        case 3: c3
        case 4: c4
        case 5: c5
        case 6: c6
        default: c7
        }
    }

    @_transparent
    func column(_ x: QuantizedActivations, _ i: Int, _ a: inout SIMD16<Float>) {
        let at = 32 &* i  // wrapping: in range by construction, no overflow checks
        let fine = x.fine[i]
        var s: SIMD16<Int32>
        if byteDotTakesAnyUnsignedByte {
            // Σ (u - 128) q = Σ u q - 128 Σq over the offset weights u, with q = 128 qh + ql
            // (15 bits) or qh (8 bits).
            var h = (SIMD16<Int32>(), SIMD16<Int32>())  // two chains, as in Q4_1Unit
            for j in stride(from: 0, to: 8, by: 2) {
                h.0 = byteDot(h.0, chunk(j), broadcast(x.high + at, 4 * j))
                h.1 = byteDot(h.1, chunk(j + 1), broadcast(x.high + at, 4 * j + 4))
            }
            s = h.0 &+ h.1
            if fine {
                var l = (SIMD16<Int32>(), SIMD16<Int32>())
                for j in stride(from: 0, to: 8, by: 2) {
                    l.0 = byteDot(l.0, chunk(j), broadcast(x.low + at, 4 * j))
                    l.1 = byteDot(l.1, chunk(j + 1), broadcast(x.low + at, 4 * j + 4))
                }
                s = s &* SIMD16(repeating: 128) &+ (l.0 &+ l.1)
            }
            s &+= SIMD16(repeating: x.offsetSum[i])
        } else {
            // The same sum with u = 16 H + L in nibbles, which every byteDot takes exactly.
            var hh = SIMD16<Int32>(), lh = hh
            for j in 0..<8 {
                let u = chunk(j), vh = broadcast(x.high + at, 4 * j)
                hh = byteDot(hh, highNibbles(u), vh); lh = byteDot(lh, lowNibbles(u), vh)
            }
            let sixteen = SIMD16<Int32>(repeating: 16)
            s = hh &* sixteen &+ lh
            if fine {
                var hl = SIMD16<Int32>(), ll = hl
                for j in 0..<8 {
                    let u = chunk(j), vl = broadcast(x.low + at, 4 * j)
                    hl = byteDot(hl, highNibbles(u), vl); ll = byteDot(ll, lowNibbles(u), vl)
                }
                s = s &* SIMD16(repeating: 128) &+ hl &* sixteen &+ ll
            }
            s &+= SIMD16(repeating: x.offsetSum[i])
        }
        a = a.addingProduct(floats(s) * d, SIMD16(repeating: x.scale[i]))
    }
}

/// One Q5_0 unit: 16 rows x 32 values `u` (0...31), then f16 scales `d`.
/// Value = d * (u - 16), so `S = Σ u q - 16 Σ q`, and `-16 Σ q` is Q8_0's `-128 Σ q` / 8.
private struct Q5_0Unit: IntegerUnit {
    static var bytes: Int { 544 }
    static var holdsWeights: Bool { false }
    let unit: UnsafeRawPointer
    let d: SIMD16<Float>

    @inline(__always)
    init(_ unit: UnsafeRawPointer) {
        self.unit = unit
        d = floats(unit.loadUnaligned(fromByteOffset: 512, as: SIMD16<Float16>.self))
    }

    @_transparent
    func column(_ x: QuantizedActivations, _ i: Int, _ a: inout SIMD16<Float>) {
        let at = 32 &* i  // wrapping: in range by construction, no overflow checks
        let fine = x.fine[i]
        let s = unsignedDot(unit, chunks: 0, x, at, fine: fine) &+ unsignedDot(unit, chunks: 4, x, at, fine: fine)
            &+ SIMD16(repeating: x.offsetSum[i] &>> 3)
        a = a.addingProduct(floats(s) * d, SIMD16(repeating: x.scale[i]))
    }
}

/// One Q6_K unit: 16 rows x 32 values `u` (0...63), then f32 scales `d * sc` of elements
/// 0..<16 and of elements 16..<32. Each half is its own term:
/// `S_h = Σ_half u q - 32 Σ_half q`, `acc = fma(Float(S_h) * scale_h, s_b, acc)`.
private struct Q6_KUnit: IntegerUnit {
    static var bytes: Int { 640 }
    static var holdsWeights: Bool { false }
    let unit: UnsafeRawPointer
    let d0, d1: SIMD16<Float>

    @inline(__always)
    init(_ unit: UnsafeRawPointer) {
        self.unit = unit
        d0 = unit.load(fromByteOffset: 512, as: SIMD16<Float>.self)
        d1 = unit.load(fromByteOffset: 576, as: SIMD16<Float>.self)
    }

    @_transparent
    func column(_ x: QuantizedActivations, _ i: Int, _ a: inout SIMD16<Float>) {
        let at = 32 &* i  // wrapping: in range by construction, no overflow checks
        let fine = x.fine[i]
        let s0 = unsignedDot(unit, chunks: 0, x, at, fine: fine) &+ SIMD16(repeating: -32 &* x.halfSum[2 &* i])
        let s1 = unsignedDot(unit, chunks: 4, x, at, fine: fine) &+ SIMD16(repeating: -32 &* x.halfSum[2 &* i &+ 1])
        let scale = SIMD16<Float>(repeating: x.scale[i])
        a = a.addingProduct(floats(s0) * d0, scale)
        a = a.addingProduct(floats(s1) * d1, scale)
    }
}

/// `Σ u q` over the 16 elements in chunks `first ..< first + 4` (elements `4 first ..<
/// 4 first + 16`) of a unit of unsigned bytes, for the column's values at `at`: exact where
/// every `u` is below 64 whichever `byteDot` was built (the AVX2 pair sums stay below
/// 2 * 63 * 128 < 2^15). Two chains, so two dot products are in flight: the high and the
/// low bytes of a 15-bit block, or the even and odd chunks of an 8-bit block.
@_transparent
private func unsignedDot(_ unit: UnsafeRawPointer, chunks first: Int, _ x: QuantizedActivations, _ at: Int, fine: Bool) -> SIMD16<Int32> {
    var h = SIMD16<Int32>(), l = h
    if fine {
        for j in first ..< first &+ 4 {
            let u = unit.load(fromByteOffset: 64 &* j, as: SIMD64<UInt8>.self)
            h = byteDot(h, u, broadcast(x.high + at, 4 &* j))
            l = byteDot(l, u, broadcast(x.low + at, 4 &* j))
        }
    } else {
        for j in stride(from: first, to: first &+ 4, by: 2) {
            h = byteDot(h, unit.load(fromByteOffset: 64 &* j, as: SIMD64<UInt8>.self), broadcast(x.high + at, 4 &* j))
            l = byteDot(l, unit.load(fromByteOffset: 64 &* j &+ 64, as: SIMD64<UInt8>.self), broadcast(x.high + at, 4 &* j &+ 4))
        }
        return h &+ l
    }
    return h &* SIMD16(repeating: 128) &+ l
}

// Nibbles of every byte, computed on 64-bit lanes: on SIMD64<UInt8>, `&` with a constant
// vector and `&>>` compile to a loop over the lanes (vpbroadcastb per lane, measured: 20x
// slower kernels), while on SIMD8<UInt64> they are one vpandq / vpsrlq each. A 64-bit shift
// moves bits across bytes; the mask removes them.
@inline(__always)
private func lowNibbles(_ c: SIMD64<UInt8>) -> SIMD64<UInt8> {
    unsafeBitCast(unsafeBitCast(c, to: SIMD8<UInt64>.self) & SIMD8(repeating: 0x0F0F_0F0F_0F0F_0F0F), to: SIMD64<UInt8>.self)
}

@inline(__always)
private func highNibbles(_ c: SIMD64<UInt8>) -> SIMD64<UInt8> {
    let shifted = unsafeBitCast(c, to: SIMD8<UInt64>.self) &>> SIMD8(repeating: 4)
    return unsafeBitCast(shifted & SIMD8(repeating: 0x0F0F_0F0F_0F0F_0F0F), to: SIMD64<UInt8>.self)
}

/// The four bytes at `q + offset` in every 32-bit lane (one `vpbroadcastd`).
@inline(__always)
private func broadcast(_ q: UnsafePointer<Int8>, _ offset: Int) -> SIMD64<Int8> {
    let four = UnsafeRawPointer(q).loadUnaligned(fromByteOffset: offset, as: Int32.self)
    return unsafeBitCast(SIMD16<Int32>(repeating: four), to: SIMD64<Int8>.self)
}

// Straight-line lane conversions (see Blocks.swift): one vcvtdq2ps / vcvtph2ps each.
@inline(__always)
private func floats(_ v: SIMD16<Int32>) -> SIMD16<Float> {
    SIMD16<Float>(lowHalf: SIMD8<Float>(Float(v[0]), Float(v[1]), Float(v[2]), Float(v[3]), Float(v[4]), Float(v[5]), Float(v[6]), Float(v[7])),
                  highHalf: SIMD8<Float>(Float(v[8]), Float(v[9]), Float(v[10]), Float(v[11]), Float(v[12]), Float(v[13]), Float(v[14]), Float(v[15])))
}

@inline(__always)
private func floats(_ v: SIMD16<Float16>) -> SIMD16<Float> {
    SIMD16<Float>(lowHalf: floats(v.lowHalf), highHalf: floats(v.highHalf))
}
