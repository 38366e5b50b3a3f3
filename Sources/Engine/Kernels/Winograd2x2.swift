import CPrefetch

/// Winograd F(2x2, 3x3) convolution: each 2x2 output tile costs 16 multiplies per input channel
/// instead of 36 (2.25x fewer), at the price of input/output transforms that are adds only.
///
/// Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A for a 4x4 input tile d and a 3x3 filter g, with
///   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1],
///   Aᵀ = [1 1 1 0; 0 1 -1 -1].
/// Summed over input channels, the 16 elementwise products become 16 independent matrix products
/// M_e[co, tiles] = U_e[co, ci] · V_e[ci, tiles], run block by block by `WinogradBlocks`.
enum Winograd2x2 {
    static let components = 16

    /// U = G g Gᵀ for every (output, input) channel pair. With `transposed`, the filter of the
    /// transposed convolution: g'[c, o] = rot180(weight[o, c]), so `weight` is [ci, co, 3, 3].
    ///
    /// One item per 4 output channels (`WinogradFilters.forEachBlock`).
    static func transformFilters(_ weight: UnsafePointer<Float>, co: Int, ci: Int,
                                 transposed: Bool, into u: WinogradFilters) {
        WinogradFilters.forEachBlock(co: co, ci: ci) { block in
            transformFilterBlock(weight, co: co, ci: ci, transposed: transposed, block: block, into: u)
        }
    }

    /// `transformFilters` of output channels 4 `block` ..< 4 `block` + 4, one per lane (the lanes
    /// past `co` transform zeros), so each of the 16 components is one vector store. Every float
    /// of the block's rows of U is written.
    @inline(__always)
    private static func transformFilterBlock(_ weight: UnsafePointer<Float>, co: Int, ci: Int, transposed: Bool,
                                             block: Int, into u: WinogradFilters) {
        let eStride = u.eStride
        let half = SIMD4<Float>(repeating: 0.5)
        typealias Four = (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>)
        // G v for 3-vectors v (of 4 filters each): the filter transform along one axis.
        @inline(__always) func transform(_ g0: SIMD4<Float>, _ g1: SIMD4<Float>, _ g2: SIMD4<Float>) -> Four {
            (g0, half * (g0 + g1 + g2), half * (g0 - g1 + g2), g2)
        }
        for c in 0..<ci {
            @inline(__always) func g(_ ky: Int, _ kx: Int) -> SIMD4<Float> {
                WinogradFilters.taps(weight, co: co, ci: ci, transposed: transposed, block: block, channel: c,
                                     ky: ky, kx: kx)
            }
            // Gg (4 x 3), one column kx at a time, then each of its rows i transformed along kx.
            let gg = (transform(g(0, 0), g(1, 0), g(2, 0)), transform(g(0, 1), g(1, 1), g(2, 1)),
                      transform(g(0, 2), g(1, 2), g(2, 2)))
            let dst = UnsafeMutableRawPointer(u.base + (block * ci + c) * 4)
            @inline(__always) func put(_ i: Int, _ row: Four) {
                dst.storeBytes(of: row.0, toByteOffset: 4 * (4 * i) * eStride, as: SIMD4<Float>.self)
                dst.storeBytes(of: row.1, toByteOffset: 4 * (4 * i + 1) * eStride, as: SIMD4<Float>.self)
                dst.storeBytes(of: row.2, toByteOffset: 4 * (4 * i + 2) * eStride, as: SIMD4<Float>.self)
                dst.storeBytes(of: row.3, toByteOffset: 4 * (4 * i + 3) * eStride, as: SIMD4<Float>.self)
            }
            put(0, transform(gg.0.0, gg.1.0, gg.2.0))
            put(1, transform(gg.0.1, gg.1.1, gg.2.1))
            put(2, transform(gg.0.2, gg.1.2, gg.2.2))
            put(3, transform(gg.0.3, gg.1.3, gg.2.3))
        }
    }

    /// The lane of a group's vectors that holds its tile `t` (0 ..< 8, left to right). Lanes 0 to
    /// 7 hold tiles 0, 1, 4, 5, 2, 3, 6, 7: the order in which one in-lane shuffle (`vshufps`)
    /// takes the even or odd columns of 16 consecutive ones (`rowTransform`), where the natural
    /// order needs a cross-lane permute after each, and the compiler made a dozen shuffles,
    /// blends and scalar loads of each row (21 instructions where 12 do). The products do not depend on the order of the
    /// tiles, the output transform's interleave (`vunpcklps`, `vunpckhps`) undoes it, and the
    /// weight gradient's ∂M follows it. Swapping bits 1 and 2, it is its own inverse.
    @inline(__always)
    static func lane(ofTile t: Int) -> Int { (t & 1) | (t & 2) << 1 | (t & 4) >> 1 }

    /// y[n, co, ho, wo] = valid 3x3 correlation of x zero-padded by `pad` on every side
    /// (ho = h + 2 pad - 2) with the filters in `u`, plus `bias`.
    static func convolve(x: UnsafePointer<Float>, n: Int, ci: Int, h: Int, w: Int, pad: Int,
                         filters u: WinogradFilters, bias: UnsafePointer<Float>?,
                         y: UnsafeMutablePointer<Float>) {
        let geometry = TileGeometry(tile: 2, n: n, h: h, w: w, pad: pad)
        WinogradBlocks.convolve(geometry, ci: ci, filters: u, input: { first, count, v, vStride in
            transformInput(x, ci: ci, geometry, first: first, count: count, v: v, eStride: vStride)
        }, output: { first, count, m, mStride in
            transformOutput(m, co: u.co, eStride: mStride, bias: bias, geometry, first: first, count: count, y: y)
        })
    }

    /// V[e][c][8s + lane] = (Bᵀ d B)[e] for the 8 tiles of group `first + s`, s < `count`, each
    /// lane one tile (in the order of `lane(ofTile:)`). Channels are the outer loop so that
    /// consecutive groups of a tile row read each input row sequentially.
    static func transformInput(_ x: UnsafePointer<Float>, ci: Int, _ g: TileGeometry, first: Int,
                               count: Int, v: UnsafeMutablePointer<Float>, eStride: Int) {
        WinogradBlocks.forEachInputWindow(x, ci: ci, g, first: first, count: count) { c, s, plane, top, left in
            inputTiles(plane, g, top: top, left: left,
                       v: UnsafeMutableRawPointer(v + c * TileGeometry.blockTiles + s * TileGeometry.groupTiles),
                       eStride: eStride)
        }
    }

    /// Bᵀ d B of the 8 tiles whose 4 x 18 input window starts at (top, left) of one channel
    /// plane (parts outside the plane read as zeros), stored as 16 SIMD8 at `v`, `eStride` apart.
    @inline(__always)
    static func inputTiles(_ plane: UnsafePointer<Float>, _ g: TileGeometry, top: Int, left: Int,
                           v: UnsafeMutableRawPointer, eStride: Int) {
        let inside = top >= 0 && top + 4 <= g.h && left >= 0 && left + 18 <= g.w
        // Row r of the window, transformed along columns (d B), one tile per lane.
        @inline(__always) func row(_ r: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
            rowTransform(plane, g, y: top + r, left: left, inside: inside)
        }
        let r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3)
        // Bᵀ along rows; component e = 4i + j.
        @inline(__always) func put(_ e: Int, _ value: SIMD8<Float>) {
            v.storeBytes(of: value, toByteOffset: 4 * e * eStride, as: SIMD8<Float>.self)
        }
        put(0, r0.0 - r2.0); put(1, r0.1 - r2.1); put(2, r0.2 - r2.2); put(3, r0.3 - r2.3)
        put(4, r1.0 + r2.0); put(5, r1.1 + r2.1); put(6, r1.2 + r2.2); put(7, r1.3 + r2.3)
        put(8, r2.0 - r1.0); put(9, r2.1 - r1.1); put(10, r2.2 - r1.2); put(11, r2.3 - r1.3)
        put(12, r1.0 - r3.0); put(13, r1.1 - r3.1); put(14, r1.2 - r3.2); put(15, r1.3 - r3.3)
    }

    /// d B of row y from column `left` of a plane for 8 tiles, reading zeros outside the plane
    /// (`inside`: the row's 18 columns lie inside it): (d0 - d2, d1 + d2, d2 - d1, d1 - d3) with
    /// d0, d1 the even and odd columns of the row's first 16 and d2, d3 those of its last 16, in
    /// the lane order of `lane(ofTile:)`.
    @inline(__always)
    static func rowTransform(_ plane: UnsafePointer<Float>, _ g: TileGeometry, y: Int, left: Int, inside: Bool)
        -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        guard inside || (y >= 0 && y < g.h) else { return (.zero, .zero, .zero, .zero) }
        let row = plane + y * g.w + left
        var t = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
        withUnsafeMutableBytes(of: &t) { raw in
            let out = raw.baseAddress!.assumingMemoryBound(to: Float.self)
            #if arch(x86_64)
            // Columns left + i for i in from..<to lie inside the plane.
            if inside { singan_row_transform(row, out) }
            else { singan_row_transform_clipped(row, max(-left, 0), min(18, g.w - left), out) }
            #else
            @inline(__always) func d(_ i: Int) -> Float { i >= -left && i < g.w - left ? row[i] : 0 }
            for k in 0..<8 {
                let at = 2 * lane(ofTile: k)
                let d0 = d(at), d1 = d(at + 1), d2 = d(at + 2), d3 = d(at + 3)
                out[k] = d0 - d2; out[8 + k] = d1 + d2; out[16 + k] = d2 - d1; out[24 + k] = d1 - d3
            }
            #endif
        }
        return t
    }

    /// y tile = Aᵀ m A + bias for the 8 tiles of group `first + s`, s < `count`; `m` is a
    /// [16][coPadded][blockTiles] buffer, components `eStride` apart. Channels are the outer loop
    /// so that consecutive groups write each output row sequentially.
    static func transformOutput(_ m: UnsafePointer<Float>, co: Int, eStride: Int,
                                bias: UnsafePointer<Float>?, _ g: TileGeometry, first: Int, count: Int,
                                y: UnsafeMutablePointer<Float>) {
        WinogradBlocks.forEachOutputWindow(co: co, g, first: first, count: count, y: y) { o, s, window, rows, cols in
            outputTiles(UnsafeRawPointer(m + o * TileGeometry.blockTiles + s * TileGeometry.groupTiles),
                        eStride: eStride, bias: SIMD8(repeating: bias?[o] ?? 0), g, y: window, rows: rows, cols: cols)
        }
    }

    /// Aᵀ m A + bias of 8 tiles (16 SIMD8 at `m`, `eStride` apart) written to the 2 x 16 output
    /// window at `y`, of which only `rows` x `cols` lie inside the output.
    @inline(__always)
    static func outputTiles(_ m: UnsafeRawPointer, eStride: Int, bias: SIMD8<Float>, _ g: TileGeometry,
                            y: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        @inline(__always) func at(_ e: Int) -> SIMD8<Float> {
            m.loadUnaligned(fromByteOffset: 4 * e * eStride, as: SIMD8<Float>.self)
        }
        // Column j of Aᵀ m (2 x 4), then Aᵀ along the other axis.
        @inline(__always) func column(_ j: Int) -> (SIMD8<Float>, SIMD8<Float>) {
            let m0 = at(j), m1 = at(4 + j), m2 = at(8 + j), m3 = at(12 + j)
            return (m0 + m1 + m2, m1 - m2 - m3)
        }
        let t0 = column(0), t1 = column(1), t2 = column(2), t3 = column(3)
        storeRow(even: t0.0 + t1.0 + t2.0 + bias, odd: t1.0 - t2.0 - t3.0 + bias, to: y, cols: cols)
        if rows == 2 {
            storeRow(even: t0.1 + t1.1 + t2.1 + bias, odd: t1.1 - t2.1 - t3.1 + bias, to: y + g.wo, cols: cols)
        }
    }

    /// Writes the first `cols` of 16 output columns, interleaved from the tiles' even and odd
    /// columns (in the lane order of `lane(ofTile:)`).
    @inline(__always)
    static func storeRow(even: SIMD8<Float>, odd: SIMD8<Float>, to y: UnsafeMutablePointer<Float>, cols: Int) {
        var columns = (even, odd, SIMD16<Float>())
        withUnsafeMutableBytes(of: &columns) { raw in
            let f = raw.baseAddress!.assumingMemoryBound(to: Float.self), out = cols == 16 ? y : f + 16
            #if arch(x86_64)
            singan_interleave_columns(f, f + 8, out)
            #else
            for k in 0..<8 {
                out[2 * k] = f[lane(ofTile: k)]; out[2 * k + 1] = f[8 + lane(ofTile: k)]
            }
            #endif
            if cols < 16 { y.update(from: f + 16, count: cols) }
        }
    }
}
