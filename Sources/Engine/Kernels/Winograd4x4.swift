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
/// (`testWinogradErrorStaysNearRounding`); `WinogradTile` picks it from 64 channels on.
enum Winograd4x4 {
    static let components = 36

    /// G v for a 3-vector v, in lanes 0..<6: the filter transform along one axis.
    @inline(__always)
    static func filterTransform(_ g0: Float, _ g1: Float, _ g2: Float) -> SIMD8<Float> {
        let sumEnds = g0 + g2, sixth: Float = 1 / 6
        let quarterSum = 0.25 * g0 + g2, half = 0.5 * g1
        return SIMD8(0.25 * g0, -(sumEnds + g1) * sixth, -(sumEnds - g1) * sixth,
                     (quarterSum + half) * sixth, (quarterSum - half) * sixth, g2, 0, 0)
    }

    /// U = G g Gᵀ for every (output, input) channel pair. With `transposed`, the filter of the
    /// transposed convolution: g'[c, o] = rot180(weight[o, c]), so `weight` is [ci, co, 3, 3].
    /// Pairs go in the order of U's rows, so each component is written sequentially.
    @inline(never)  // its own symbol in profiles; called once per convolution
    static func transformFilters(_ weight: UnsafePointer<Float>, co: Int, ci: Int,
                                 transposed: Bool, into u: WinogradFilters) {
        u.base.update(repeating: 0, count: WinogradFilters.count(components: components, co: co, ci: ci))
        let eStride = u.eStride
        for quad in stride(from: 0, to: co, by: 4) {
            for c in 0..<ci {
                for o in quad..<min(quad + 4, co) {
                    @inline(__always) func g(_ ky: Int, _ kx: Int) -> Float {
                        transposed ? weight[(c * co + o) * 9 + 8 - 3 * ky - kx] : weight[(o * ci + c) * 9 + 3 * ky + kx]
                    }
                    // Columns kx of G g (6 x 3), then each of its rows i transformed along kx.
                    let c0 = filterTransform(g(0, 0), g(1, 0), g(2, 0))
                    let c1 = filterTransform(g(0, 1), g(1, 1), g(2, 1))
                    let c2 = filterTransform(g(0, 2), g(1, 2), g(2, 2))
                    let dst = u.base + (quad * ci + c * 4) + o - quad
                    for i in 0..<6 {
                        let row = filterTransform(c0[i], c1[i], c2[i])
                        for j in 0..<6 { dst[(6 * i + j) * eStride] = row[j] }
                    }
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
    /// lane one tile; `v` is a [36][ci][blockTiles] buffer. Channels are the outer loop so that
    /// consecutive groups of a tile row read each input row sequentially.
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

    /// Aᵀ applied to 6 values: 4 outputs.
    @inline(__always)
    static func outputTransform(_ m: Six) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
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
    static func load36Clipped(_ plane: UnsafePointer<Float>, _ g: TileGeometry, y: Int, left: Int) -> Quarters {
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
        // Aᵀ m (4 x 6), one column j at a time, parked in a stack buffer: its 24 vectors do not
        // fit in the 16 registers.
        withUnsafeTemporaryAllocation(byteCount: 24 * 32, alignment: 32) { raw in
            for j in 0..<6 {
                let k = outputTransform((at(j), at(6 + j), at(12 + j), at(18 + j), at(24 + j), at(30 + j)))
                raw.storeBytes(of: k.0, toByteOffset: 32 * j, as: SIMD8<Float>.self)
                raw.storeBytes(of: k.1, toByteOffset: 32 * (6 + j), as: SIMD8<Float>.self)
                raw.storeBytes(of: k.2, toByteOffset: 32 * (12 + j), as: SIMD8<Float>.self)
                raw.storeBytes(of: k.3, toByteOffset: 32 * (18 + j), as: SIMD8<Float>.self)
            }
            // Row i of (Aᵀ m) A: lane l holds column j of tile l; transposed so that tile l's 4
            // columns land at 4l ..< 4l + 4.
            for i in 0..<min(rows, 4) {
                @inline(__always) func row(_ j: Int) -> SIMD8<Float> {
                    raw.load(fromByteOffset: 32 * (6 * i + j), as: SIMD8<Float>.self)
                }
                let k = outputTransform((row(0), row(1), row(2), row(3), row(4), row(5)))
                let out = transpose4x8(k.0 + bias, k.1 + bias, k.2 + bias, k.3 + bias)
                let dst = UnsafeMutableRawPointer(y + i * g.wo)
                if cols == 32 {
                    dst.storeBytes(of: out.0, as: SIMD8<Float>.self)
                    dst.storeBytes(of: out.1, toByteOffset: 32, as: SIMD8<Float>.self)
                    dst.storeBytes(of: out.2, toByteOffset: 64, as: SIMD8<Float>.self)
                    dst.storeBytes(of: out.3, toByteOffset: 96, as: SIMD8<Float>.self)
                } else {
                    var staged = out
                    withUnsafeBytes(of: &staged) { values in
                        dst.copyMemory(from: values.baseAddress!, byteCount: 4 * cols)
                    }
                }
            }
        }
    }

    /// out[4l + j] = k_j[l]: four vectors of 8 lanes to 8 groups of 4, as 32 consecutive floats.
    /// Written as the unpack / shuffle / lane-swap sequence of the classic AVX 4x8 transpose,
    /// which LLVM matches to single shuffle instructions.
    @inline(__always)
    static func transpose4x8(_ k0: SIMD8<Float>, _ k1: SIMD8<Float>, _ k2: SIMD8<Float>, _ k3: SIMD8<Float>)
        -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        @inline(__always) func unpackLow(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
            SIMD8(a[0], b[0], a[1], b[1], a[4], b[4], a[5], b[5])
        }
        @inline(__always) func unpackHigh(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
            SIMD8(a[2], b[2], a[3], b[3], a[6], b[6], a[7], b[7])
        }
        @inline(__always) func pairsLow(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
            SIMD8(a[0], a[1], b[0], b[1], a[4], a[5], b[4], b[5])
        }
        @inline(__always) func pairsHigh(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
            SIMD8(a[2], a[3], b[2], b[3], a[6], a[7], b[6], b[7])
        }
        let t0 = unpackLow(k0, k1), t1 = unpackHigh(k0, k1), t2 = unpackLow(k2, k3), t3 = unpackHigh(k2, k3)
        // Tiles (0 | 4), (1 | 5), (2 | 6), (3 | 7) in the two 128-bit halves.
        let u0 = pairsLow(t0, t2), u1 = pairsHigh(t0, t2), u2 = pairsLow(t1, t3), u3 = pairsHigh(t1, t3)
        return (SIMD8(lowHalf: u0.lowHalf, highHalf: u1.lowHalf), SIMD8(lowHalf: u2.lowHalf, highHalf: u3.lowHalf),
                SIMD8(lowHalf: u0.highHalf, highHalf: u1.highHalf), SIMD8(lowHalf: u2.highHalf, highHalf: u3.highHalf))
    }
}
