import CPrefetch

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
/// run block by block by `WinogradBlocks`. Error against a Double direct loop, 64 -> 64 channels,
/// inputs in [-1, 1): 5-7e-6 of the largest output, against 3e-7 for F(2x2)
/// (`testWinogradErrorStaysNearRounding`); `WinogradTile` picks it unless the output is small.
enum Winograd4x4 {
    static let components = 36

    /// The lane of a group's vectors that holds its tile `t` (0 ..< 8, left to right). Lanes 0 to
    /// 7 hold tiles 0, 2, 4, 6, 1, 3, 5, 7: the order in which a 4 x 4 transpose inside each
    /// 128-bit half of a row's vectors takes their columns apart (`singan_columns4`) and puts
    /// the output tiles together (`singan_rows4`), with no cross-lane permute. As in F(2x2)
    /// (`Winograd2x2.lane(ofTile:)`), the products do not depend on the order of the tiles and
    /// the weight gradient's ∂M follows it.
    @inline(__always)
    static func lane(ofTile t: Int) -> Int { (t & 1) << 2 | t >> 1 }

    typealias SixFilters = (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>)

    /// G v for 3-vectors v (of 4 filters each, one per lane): the filter transform along one axis.
    @inline(__always)
    static func filterTransform(_ g0: SIMD4<Float>, _ g1: SIMD4<Float>, _ g2: SIMD4<Float>) -> SixFilters {
        let quarter = SIMD4<Float>(repeating: 0.25), half = SIMD4<Float>(repeating: 0.5)
        let sixth = SIMD4<Float>(repeating: 1 / 6)
        let sumEnds = g0 + g2, quarterSum = quarter * g0 + g2, halfMiddle = half * g1
        return (quarter * g0, -(sumEnds + g1) * sixth, -(sumEnds - g1) * sixth,
                (quarterSum + halfMiddle) * sixth, (quarterSum - halfMiddle) * sixth, g2)
    }

    /// U = G g Gᵀ for every (output, input) channel pair. With `transposed`, the filter of the
    /// transposed convolution: g'[c, o] = rot180(weight[o, c]), so `weight` is [ci, co, 3, 3].
    ///
    /// One item per 4 output channels (`WinogradFilters.forEachBlock`), the 4 filters in the
    /// lanes of one SIMD4, so each of the 36 components is one vector store.
    @inline(never)  // its own symbol in profiles; called once per convolution
    static func transformFilters(_ weight: UnsafePointer<Float>, co: Int, ci: Int,
                                 transposed: Bool, into u: WinogradFilters) {
        WinogradFilters.forEachBlock(co: co, ci: ci) { block in
            transformFilterBlock(weight, co: co, ci: ci, transposed: transposed, block: block, into: u)
        }
    }

    /// `transformFilters` of output channels 4 `block` ..< 4 `block` + 4, one per lane (the
    /// lanes past `co` transform zeros). Every float of the block's rows of U is written.
    @inline(__always)
    private static func transformFilterBlock(_ weight: UnsafePointer<Float>, co: Int, ci: Int, transposed: Bool,
                                             block: Int, into u: WinogradFilters) {
        let eStride = u.eStride
        for c in 0..<ci {
            @inline(__always) func g(_ ky: Int, _ kx: Int) -> SIMD4<Float> {
                WinogradFilters.taps(weight, co: co, ci: ci, transposed: transposed, block: block, channel: c,
                                     ky: ky, kx: kx)
            }
            // Columns kx of G g (6 x 3), then each of its rows i transformed along kx.
            var columns = (filterTransform(g(0, 0), g(1, 0), g(2, 0)), filterTransform(g(0, 1), g(1, 1), g(2, 1)),
                           filterTransform(g(0, 2), g(1, 2), g(2, 2)))
            let dst = UnsafeMutableRawPointer(u.base + (block * ci + c) * 4)
            withUnsafeBytes(of: &columns) { raw in
                for i in 0..<6 {
                    @inline(__always) func at(_ kx: Int) -> SIMD4<Float> {
                        raw.load(fromByteOffset: 16 * (6 * kx + i), as: SIMD4<Float>.self)
                    }
                    let row = filterTransform(at(0), at(1), at(2))
                    @inline(__always) func put(_ j: Int, _ value: SIMD4<Float>) {
                        dst.storeBytes(of: value, toByteOffset: 4 * (6 * i + j) * eStride, as: SIMD4<Float>.self)
                    }
                    put(0, row.0); put(1, row.1); put(2, row.2); put(3, row.3); put(4, row.4); put(5, row.5)
                }
            }
        }
    }

    /// y[n, co, ho, wo] = valid 3x3 correlation of x zero-padded by `pad` on every side
    /// (ho = h + 2 pad - 2) with the filters in `u`, plus `bias`.
    static func convolve(x: UnsafePointer<Float>, n: Int, ci: Int, h: Int, w: Int, pad: Int,
                         filters u: WinogradFilters, bias: UnsafePointer<Float>?,
                         y: UnsafeMutablePointer<Float>) {
        let geometry = TileGeometry(tile: 4, n: n, h: h, w: w, pad: pad)
        WinogradBlocks.convolve(geometry, ci: ci, filters: u, input: { first, count, v, vStride in
            transformInput(x, ci: ci, geometry, first: first, count: count, v: v, eStride: vStride)
        }, output: { first, count, m, mStride in
            transformOutput(m, co: u.co, eStride: mStride, bias: bias, geometry, first: first, count: count, y: y)
        })
    }

    /// V[e][c][8s + lane] = (Bᵀ d B)[e] for the 8 tiles of group `first + s`, s < `count`, each
    /// lane one tile (in the order of `lane(ofTile:)`); `v` is a [36][ci][blockTiles] buffer.
    /// Channels are the outer loop so that consecutive groups of a tile row read each input row
    /// sequentially.
    @inline(never)  // its own symbol in profiles; called once per block
    static func transformInput(_ x: UnsafePointer<Float>, ci: Int, _ g: TileGeometry, first: Int,
                               count: Int, v: UnsafeMutablePointer<Float>, eStride: Int) {
        WinogradBlocks.forEachInputWindow(x, ci: ci, g, first: first, count: count) { c, s, plane, top, left in
            inputTiles(plane, g, top: top, left: left,
                       v: UnsafeMutableRawPointer(v + c * TileGeometry.blockTiles + s * TileGeometry.groupTiles),
                       eStride: eStride)
        }
    }

    typealias Six = (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)

    /// Bᵀ applied to 6 values (of 8 tiles each).
    @inline(__always)
    static func inputTransform(_ d: Six) -> Six {
        let (d0, d1, d2, d3, d4, d5) = d
        // Constants as vectors: `Float * SIMD8` stays a generic, scalar loop in this build.
        let two = SIMD8<Float>(repeating: 2), four = SIMD8<Float>(repeating: 4), five = SIMD8<Float>(repeating: 5)
        let a = d4 - four * d2, b = d3 - four * d1   // t1 = a + b, t2 = a - b
        let c = d4 - d2, e = two * (d3 - d1)         // t3 = c + e, t4 = c - e
        return (four * d0 - five * d2 + d4, a + b, a - b, c + e, c - e, four * d1 - five * d3 + d5)
    }

    typealias Four = (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)

    /// Aᵀ applied to 6 values: 4 outputs.
    @inline(__always)
    static func outputTransform(_ m: Six) -> Four {
        let (m0, m1, m2, m3, m4, m5) = m
        let s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4
        let two = SIMD8<Float>(repeating: 2), four = SIMD8<Float>(repeating: 4), eight = SIMD8<Float>(repeating: 8)
        return (m0 + s12 + s34, d12 + two * d34, s12 + four * s34, d12 + eight * d34 + m5)
    }

    /// Bᵀ d B of the 8 tiles whose 6 x 34 input window starts at (top, left) of one channel
    /// plane (parts outside the plane read as zeros), stored as 36 SIMD8 at `v`, `eStride` apart.
    @inline(__always)
    static func inputTiles(_ plane: UnsafePointer<Float>, _ g: TileGeometry, top: Int, left: Int,
                           v: UnsafeMutableRawPointer, eStride: Int) {
        let inside = top >= 0 && top + 6 <= g.h && left >= 0 && left + 36 <= g.w
        // Columns left + i for i in from..<to lie inside the plane.
        let from = max(-left, 0), to = min(36, g.w - left)
        #if arch(x86_64)
        // A clipped window's load masks, computed once for its 6 rows.
        var masks = (SIMD8<Int32>(), SIMD8<Int32>(), SIMD8<Int32>(), SIMD8<Int32>(),
                     SIMD8<Int32>(), SIMD8<Int32>(), SIMD8<Int32>(), SIMD8<Int32>())
        if !inside {
            withUnsafeMutableBytes(of: &masks) {
                singan_columns4_masks(from, to, $0.baseAddress!.assumingMemoryBound(to: Int32.self))
            }
        }
        #endif
        // Row r of the window transformed along columns (d B), one tile per lane.
        @inline(__always) func row(_ r: Int) -> Six {
            let zero = SIMD8<Float>(), y = top + r
            var six = (zero, zero, zero, zero, zero, zero)
            guard inside || (y >= 0 && y < g.h) else { return six }
            let p = plane + y * g.w + left
            withUnsafeMutableBytes(of: &six) { raw in
                let out = raw.baseAddress!.assumingMemoryBound(to: Float.self)
                #if arch(x86_64)
                if inside {
                    singan_columns4(p, out)
                } else {
                    withUnsafeBytes(of: &masks) {
                        singan_columns4_masked(p, $0.baseAddress!.assumingMemoryBound(to: Int32.self), out)
                    }
                }
                #else
                for k in 0..<6 {
                    for l in 0..<8 {
                        let i = 4 * tile(ofLane: l) + k
                        out[8 * k + l] = i >= from && i < to ? p[i] : 0
                    }
                }
                #endif
            }
            return inputTransform(six)
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

    /// The inverse of `lane(ofTile:)`.
    @inline(__always)
    static func tile(ofLane l: Int) -> Int { (l & 3) << 1 | l >> 2 }

    /// y tile = Aᵀ m A + bias for the 8 tiles of group `first + s`, s < `count`; `m` is a
    /// [36][coPadded][blockTiles] buffer, components `eStride` apart. Channels are the outer loop
    /// so that consecutive groups write each output row sequentially.
    @inline(never)  // its own symbol in profiles; called once per block
    static func transformOutput(_ m: UnsafePointer<Float>, co: Int, eStride: Int,
                                bias: UnsafePointer<Float>?, _ g: TileGeometry, first: Int, count: Int,
                                y: UnsafeMutablePointer<Float>) {
        WinogradBlocks.forEachOutputWindow(co: co, g, first: first, count: count, y: y) { o, s, window, rows, cols in
            outputTiles(UnsafeRawPointer(m + o * TileGeometry.blockTiles + s * TileGeometry.groupTiles),
                        eStride: eStride, bias: SIMD8(repeating: bias?[o] ?? 0), g, y: window, rows: rows, cols: cols)
        }
    }

    /// Aᵀ m A + bias of 8 tiles (36 SIMD8 at `m`, `eStride` apart) written to the 4 x 32 output
    /// window at `y`, of which only `rows` x `cols` lie inside the output.
    @inline(__always)
    static func outputTiles(_ m: UnsafeRawPointer, eStride: Int, bias: SIMD8<Float>, _ g: TileGeometry,
                            y: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        @inline(__always) func at(_ e: Int) -> SIMD8<Float> {
            m.loadUnaligned(fromByteOffset: 4 * e * eStride, as: SIMD8<Float>.self)
        }
        // Aᵀ m (4 x 6), one column j at a time, parked on the stack: its 24 vectors do not fit in
        // the 16 registers. Built from its values: a tuple of zeros written through
        // `withUnsafeMutableBytes` cost a 768-byte memset per call (3.7% of a training
        // iteration's samples at 128 x 128), and `withUnsafeTemporaryAllocation` a malloc.
        @inline(__always) func column(_ j: Int) -> Four {
            outputTransform((at(j), at(6 + j), at(12 + j), at(18 + j), at(24 + j), at(30 + j)))
        }
        var parked = (column(0), column(1), column(2), column(3), column(4), column(5))
        withUnsafeBytes(of: &parked) { raw in
            // Row i of (Aᵀ m) A: lane l holds column j of the lane's tile; `storeRow` puts each
            // tile's 4 columns together.
            for i in 0..<min(rows, 4) {
                @inline(__always) func row(_ j: Int) -> SIMD8<Float> {
                    raw.load(fromByteOffset: 32 * (4 * j + i), as: SIMD8<Float>.self)
                }
                let k = outputTransform((row(0), row(1), row(2), row(3), row(4), row(5)))
                storeRow((k.0 + bias, k.1 + bias, k.2 + bias, k.3 + bias), to: y + i * g.wo, cols: cols)
            }
        }
    }

    /// Writes the first `cols` of 32 output columns, from the 8 tiles' 4 output columns (lane l of
    /// vector j: column j of the lane's tile, `lane(ofTile:)`).
    @inline(__always)
    static func storeRow(_ k: Four,
                         to y: UnsafeMutablePointer<Float>, cols: Int) {
        var staged = (k, (SIMD16<Float>(), SIMD16<Float>()))
        withUnsafeMutableBytes(of: &staged) { raw in
            let f = raw.baseAddress!.assumingMemoryBound(to: Float.self), out = cols == 32 ? y : f + 32
            #if arch(x86_64)
            singan_rows4(f, out)
            #else
            for l in 0..<8 {
                for j in 0..<4 { out[4 * tile(ofLane: l) + j] = f[8 * j + l] }
            }
            #endif
            if cols < 32 { y.update(from: f + 32, count: cols) }
        }
    }
}
