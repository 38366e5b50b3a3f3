/// Winograd F(4x4, 3x3) convolution: each 4x4 output tile costs 36 multiplies per input channel
/// instead of the direct 144 (4x fewer; F(2x2, 3x3) saves 2.25x), at the price of input and output
/// transforms with small integer coefficients (interpolation points 0, ±1, ±2, ∞):
///
///   Bᵀ = [4  0 -5  0 1 0;  0 -4 -4  1 1 0;  0  4 -4 -1 1 0;
///         0 -2 -1  2 1 0;  0  2 -1 -2 1 0;  0  4  0 -5 0 1]
///   G  = [1/4 0 0;  -1/6 -1/6 -1/6;  -1/6 1/6 -1/6;  1/24 1/12 1/6;  1/24 -1/12 1/6;  0 0 1]
///   Aᵀ = [1 1 1 1 1 0;  0 1 -1 2 -2 0;  0 1 1 4 4 0;  0 1 -1 8 -8 1]
///
/// Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A for a 6x6 input tile d. Summed over input channels, the 36
/// element-wise products become 36 matrix products M_e[co, tiles] = U_e[co, ci] · V_e[ci, tiles],
/// run by `gemm4x24` on blocks of `blockTiles` tiles (V and M of one component stay in L1 while
/// it is multiplied); workers take blocks one at a time and each writes its own output tiles, so
/// results do not depend on the thread count. Relative error against a Double direct loop stays
/// near 1e-6 for unit-scale inputs (BENCHMARKS.md), about 4x that of F(2x2, 3x3).
enum Winograd4x4 {
    /// The transforms give each tile one SIMD8 lane: a group is 8 horizontally adjacent tiles of
    /// one tile row (its window: 6 input rows x 34 columns, output: 4 rows x 32 columns).
    static let groupTiles = 8
    static let blockGroups = 6
    static let blockTiles = groupTiles * blockGroups
    static let components = 36

    /// Transformed filters, packed for `gemm4x24`: U[e][co/4][ci][4], rows padded to a multiple of 4.
    struct Filters {
        let base: UnsafeMutablePointer<Float>
        let co: Int, ci: Int
        var coPadded: Int { (co + 3) / 4 * 4 }
        static func count(co: Int, ci: Int) -> Int { components * ((co + 3) / 4 * 4) * ci }
    }

    /// G v for a 3-vector v, in lanes 0..<6: the filter transform along one axis.
    @inline(__always)
    static func filterTransform(_ g0: Float, _ g1: Float, _ g2: Float) -> SIMD8<Float> {
        let sumEnds = g0 + g2
        return SIMD8(g0 / 4, -(sumEnds + g1) / 6, -(sumEnds - g1) / 6,
                     g0 / 24 + g1 / 12 + g2 / 6, g0 / 24 - g1 / 12 + g2 / 6, g2, 0, 0)
    }

    /// U = G g Gᵀ for every (output, input) channel pair. With `transposed`, the filter of the
    /// transposed convolution: g'[c, o] = rot180(weight[o, c]), so `weight` is [ci, co, 3, 3].
    static func transformFilters(_ weight: UnsafePointer<Float>, co: Int, ci: Int,
                                 transposed: Bool, into u: Filters) {
        u.base.update(repeating: 0, count: Filters.count(co: co, ci: ci))
        let eStride = u.coPadded * ci
        for o in 0..<co {
            for c in 0..<ci {
                @inline(__always) func g(_ ky: Int, _ kx: Int) -> Float {
                    transposed ? weight[(c * co + o) * 9 + 8 - 3 * ky - kx] : weight[(o * ci + c) * 9 + 3 * ky + kx]
                }
                // Columns kx of G g (6 x 3), then each of its rows i transformed along kx.
                let c0 = filterTransform(g(0, 0), g(1, 0), g(2, 0))
                let c1 = filterTransform(g(0, 1), g(1, 1), g(2, 1))
                let c2 = filterTransform(g(0, 2), g(1, 2), g(2, 2))
                let dst = u.base + (o / 4 * ci + c) * 4 + o % 4
                for i in 0..<6 {
                    let row = filterTransform(c0[i], c1[i], c2[i])
                    for j in 0..<6 { dst[(6 * i + j) * eStride] = row[j] }
                }
            }
        }
    }

    /// y[n, co, ho, wo] = valid 3x3 correlation of x zero-padded by `pad` on every side
    /// (ho = h + 2 pad - 2) with the filters in `u`, plus `bias`.
    static func convolve(x: UnsafePointer<Float>, n: Int, ci: Int, h: Int, w: Int, pad: Int,
                         filters u: Filters, bias: UnsafePointer<Float>?,
                         y: UnsafeMutablePointer<Float>) {
        let geometry = Geometry(n: n, h: h, w: w, pad: pad)
        let co = u.co, coP = u.coPadded
        let vCount = components * ci * blockTiles, mCount = components * coP * blockTiles
        let blocks = (geometry.groups + blockGroups - 1) / blockGroups
        ComputeThreads.parallelFor(blocks) { _, block in
            ScratchPool.shared.with(vCount + mCount) { scratch in
                let v = scratch, m = scratch + vCount
                let first = block * blockGroups
                let groups = min(blockGroups, geometry.groups - first)
                transformInput(x, ci: ci, geometry, first: first, count: groups, v: v)
                let strips = (groups * groupTiles + 23) / 24
                for e in 0..<components {
                    let ue = u.base + e * coP * ci, ve = v + e * ci * blockTiles
                    let me = m + e * coP * blockTiles
                    for ob in 0..<(coP / 4) {
                        for strip in 0..<strips {
                            MicroKernel.gemm4x24(ue + ob * ci * 4, ve + strip * 24, ldb: blockTiles, k: ci,
                                                 me + ob * 4 * blockTiles + strip * 24, ldc: blockTiles)
                        }
                    }
                }
                transformOutput(m, co: co, coPadded: coP, bias: bias, geometry, first: first,
                                count: groups, y: y)
            }
        }
    }

    /// Output tiling of one call: groups enumerate (image, tile row, 8-tile column group).
    struct Geometry {
        let n: Int, h: Int, w: Int, pad: Int
        let ho: Int, wo: Int, tileRows: Int, groupsPerRow: Int, groups: Int

        init(n: Int, h: Int, w: Int, pad: Int) {
            self.n = n; self.h = h; self.w = w; self.pad = pad
            ho = h + 2 * pad - 2; wo = w + 2 * pad - 2
            tileRows = (ho + 3) / 4
            groupsPerRow = ((wo + 3) / 4 + groupTiles - 1) / groupTiles
            groups = n * tileRows * groupsPerRow
        }

        /// (image, first output row, first output column) of a group.
        func origin(_ group: Int) -> (b: Int, row: Int, col: Int) {
            let perImage = tileRows * groupsPerRow
            let b = group / perImage, r = group % perImage
            return (b, 4 * (r / groupsPerRow), 4 * groupTiles * (r % groupsPerRow))
        }
    }

    /// V[e][c][8s + lane] = (Bᵀ d B)[e] for the 8 tiles of group `first + s`, s < `count`, each
    /// lane one tile; `v` is a [36][ci][blockTiles] buffer. Channels are the outer loop so that
    /// consecutive groups of a tile row read each input row sequentially.
    static func transformInput(_ x: UnsafePointer<Float>, ci: Int, _ g: Geometry, first: Int,
                               count: Int, v: UnsafeMutablePointer<Float>) {
        let origins = (0..<count).map { g.origin(first + $0) }
        for c in 0..<ci {
            for (s, (b, row0, col0)) in origins.enumerated() {
                inputTiles(x + (b * ci + c) * g.h * g.w, g, top: row0 - g.pad, left: col0 - g.pad,
                           v: UnsafeMutableRawPointer(v + c * blockTiles + s * groupTiles),
                           eStride: ci * blockTiles)
            }
        }
    }

    typealias Six = (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)

    /// Bᵀ applied to 6 values (of 8 tiles each).
    @inline(__always)
    static func inputTransform(_ d: Six) -> Six {
        let (d0, d1, d2, d3, d4, d5) = d
        let a = d4 - 4 * d2, b = d3 - 4 * d1     // t1 = a + b, t2 = a - b
        let c = d4 - d2, e = 2 * (d3 - d1)       // t3 = c + e, t4 = c - e
        return (4 * d0 - 5 * d2 + d4, a + b, a - b, c + e, c - e, 4 * d1 - 5 * d3 + d5)
    }

    /// Aᵀ applied to 6 values: 4 outputs.
    @inline(__always)
    static func outputTransform(_ m: Six) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let (m0, m1, m2, m3, m4, m5) = m
        let s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4
        return (m0 + s12 + s34, d12 + 2 * d34, s12 + 4 * s34, d12 + 8 * d34 + m5)
    }

    /// Bᵀ d B of the 8 tiles whose 6 x 34 input window starts at (top, left) of one channel
    /// plane (parts outside the plane read as zeros), stored as 36 SIMD8 at `v`, `eStride` apart.
    @inline(__always)
    static func inputTiles(_ plane: UnsafePointer<Float>, _ g: Geometry, top: Int, left: Int,
                           v: UnsafeMutableRawPointer, eStride: Int) {
        let inside = top >= 0 && top + 6 <= g.h && left >= 0 && left + 36 <= g.w
        // Row r of the window transformed along columns (d B): lane l holds tile l, whose
        // columns are left + 4l ..< left + 4l + 6.
        // Columns 4l + k are taken apart with two rounds of even/odd halves of SIMD16 (LLVM
        // turns those into a few shuffles; SIMD32's even/odd halves stay generic code).
        @inline(__always) func row(_ r: Int) -> Six {
            let (a, b, c, d) = inside ? load36(plane + (top + r) * g.w + left)
                                      : load36Clipped(plane, g, y: top + r, left: left)
            let even = SIMD16(lowHalf: a.evenHalf, highHalf: b.evenHalf)  // columns 0, 2, ..., 30
            let odd = SIMD16(lowHalf: a.oddHalf, highHalf: b.oddHalf)     // columns 1, 3, ..., 31
            let even4 = SIMD16(lowHalf: c.evenHalf, highHalf: d.evenHalf) // columns 4, 6, ..., 34
            let odd4 = SIMD16(lowHalf: c.oddHalf, highHalf: d.oddHalf)    // columns 5, 7, ..., 35
            return inputTransform((even.evenHalf, odd.evenHalf, even.oddHalf, odd.oddHalf,
                                   even4.evenHalf, odd4.evenHalf))
        }
        var rows: (Six, Six, Six, Six, Six, Six) = (row(0), row(1), row(2), row(3), row(4), row(5))
        withUnsafeBytes(of: &rows) { raw in
            // Bᵀ along rows, column j at a time; component e = 6i + j.
            for j in 0..<6 {
                @inline(__always) func at(_ r: Int) -> SIMD8<Float> {
                    raw.load(fromByteOffset: 32 * (6 * r + j), as: SIMD8<Float>.self)
                }
                let t = inputTransform((at(0), at(1), at(2), at(3), at(4), at(5)))
                v.storeBytes(of: t.0, toByteOffset: 4 * j * eStride, as: SIMD8<Float>.self)
                v.storeBytes(of: t.1, toByteOffset: 4 * (6 + j) * eStride, as: SIMD8<Float>.self)
                v.storeBytes(of: t.2, toByteOffset: 4 * (12 + j) * eStride, as: SIMD8<Float>.self)
                v.storeBytes(of: t.3, toByteOffset: 4 * (18 + j) * eStride, as: SIMD8<Float>.self)
                v.storeBytes(of: t.4, toByteOffset: 4 * (24 + j) * eStride, as: SIMD8<Float>.self)
                v.storeBytes(of: t.5, toByteOffset: 4 * (30 + j) * eStride, as: SIMD8<Float>.self)
            }
        }
    }

    typealias Quarters = (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>)

    /// Floats p[0..<16], p[16..<32], p[4..<20] and p[20..<36].
    @inline(__always)
    static func load36(_ p: UnsafePointer<Float>) -> Quarters {
        let raw = UnsafeRawPointer(p)
        return (raw.loadUnaligned(as: SIMD16<Float>.self),
                raw.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self),
                raw.loadUnaligned(fromByteOffset: 16, as: SIMD16<Float>.self),
                raw.loadUnaligned(fromByteOffset: 80, as: SIMD16<Float>.self))
    }

    /// `load36` of row y from column `left` of a plane, reading zeros outside it.
    static func load36Clipped(_ plane: UnsafePointer<Float>, _ g: Geometry, y: Int, left: Int) -> Quarters {
        var staged = (SIMD16<Float>(), SIMD16<Float>(), SIMD8<Float>())
        return withUnsafeMutableBytes(of: &staged) { raw in
            let row = raw.baseAddress!.assumingMemoryBound(to: Float.self)
            let from = max(left, 0), to = min(left + 36, g.w)
            if y >= 0 && y < g.h && from < to {
                (row + from - left).update(from: plane + y * g.w + from, count: to - from)
            }
            return load36(row)
        }
    }

    /// y tile = Aᵀ m A + bias for the 8 tiles of group `first + s`, s < `count`; `m` is a
    /// [36][coPadded][blockTiles] buffer. Channels are the outer loop so that consecutive groups
    /// write each output row sequentially.
    static func transformOutput(_ m: UnsafePointer<Float>, co: Int, coPadded: Int,
                                bias: UnsafePointer<Float>?, _ g: Geometry, first: Int, count: Int,
                                y: UnsafeMutablePointer<Float>) {
        let origins = (0..<count).map { g.origin(first + $0) }
        for o in 0..<co {
            let beta = SIMD8<Float>(repeating: bias?[o] ?? 0)
            for (s, (b, row0, col0)) in origins.enumerated() {
                outputTiles(UnsafeRawPointer(m + o * blockTiles + s * groupTiles),
                            eStride: coPadded * blockTiles, bias: beta, g,
                            y: y + ((b * co + o) * g.ho + row0) * g.wo + col0,
                            rows: min(4, g.ho - row0), cols: min(32, g.wo - col0))
            }
        }
    }

    /// Aᵀ m A + bias of 8 tiles (36 SIMD8 at `m`, `eStride` apart) written to the 4 x 32 output
    /// window at `y`, of which only `rows` x `cols` lie inside the output.
    @inline(__always)
    static func outputTiles(_ m: UnsafeRawPointer, eStride: Int, bias: SIMD8<Float>, _ g: Geometry,
                            y: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        @inline(__always) func at(_ e: Int) -> SIMD8<Float> {
            m.loadUnaligned(fromByteOffset: 4 * e * eStride, as: SIMD8<Float>.self)
        }
        // Aᵀ m: 4 x 6, one column j at a time.
        @inline(__always) func column(_ j: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
            outputTransform((at(j), at(6 + j), at(12 + j), at(18 + j), at(24 + j), at(30 + j)))
        }
        let c0 = column(0), c1 = column(1), c2 = column(2), c3 = column(3), c4 = column(4), c5 = column(5)
        // Row i of (Aᵀ m) A: the 4 output columns of each tile, interleaved so that lane l's
        // columns 4l ..< 4l + 4 are consecutive (two rounds of SIMD16 interleaving).
        @inline(__always) func outputRow(_ r: Six) -> (SIMD16<Float>, SIMD16<Float>) {
            let k = outputTransform(r)
            var a = SIMD16<Float>(), b = SIMD16<Float>()
            a.evenHalf = k.0 + bias; a.oddHalf = k.2 + bias  // columns 4l and 4l + 2 at 2l, 2l + 1
            b.evenHalf = k.1 + bias; b.oddHalf = k.3 + bias  // columns 4l + 1 and 4l + 3
            var low = SIMD16<Float>(), high = SIMD16<Float>()
            low.evenHalf = a.lowHalf; low.oddHalf = b.lowHalf
            high.evenHalf = a.highHalf; high.oddHalf = b.highHalf
            return (low, high)
        }
        let r0 = outputRow((c0.0, c1.0, c2.0, c3.0, c4.0, c5.0))
        let r1 = outputRow((c0.1, c1.1, c2.1, c3.1, c4.1, c5.1))
        let r2 = outputRow((c0.2, c1.2, c2.2, c3.2, c4.2, c5.2))
        let r3 = outputRow((c0.3, c1.3, c2.3, c3.3, c4.3, c5.3))
        @inline(__always) func store(_ row: (SIMD16<Float>, SIMD16<Float>), _ i: Int) {
            guard i < rows else { return }
            let dst = y + i * g.wo
            if cols == 32 {
                UnsafeMutableRawPointer(dst).storeBytes(of: row.0, as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(dst + 16).storeBytes(of: row.1, as: SIMD16<Float>.self)
            } else {
                for j in 0..<min(cols, 16) { dst[j] = row.0[j] }
                for j in 16..<max(cols, 16) { dst[j] = row.1[j - 16] }
            }
        }
        store(r0, 0); store(r1, 1); store(r2, 2); store(r3, 3)
    }
}
