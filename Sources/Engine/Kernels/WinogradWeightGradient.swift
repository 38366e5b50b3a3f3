import CPrefetch

/// The weight gradient of the 3x3 convolution through Winograd tiles, the transpose of the
/// forward's algebra: with M = U ⊙ V and Y = Aᵀ M A per tile,
///   ∂L/∂M = A gy Aᵀ (4x4 from each 2x2 tile of gy in F(2x2), 6x6 from 4x4 in F(4x4)),
///   ∂L/∂U_e[o, c] = Σ_tiles ∂M_e[o, tile] · V_e[c, tile]   (16 or 36 matrix products, K = tiles),
///   gw[o, c] = Gᵀ ∂L/∂U[o, c] G                           (3x3 from 4x4 or 6x6).
/// Per output and channel pair: 4 (F(2x2)) or 2.25 (F(4x4)) multiplies instead of the direct
/// reduction's 9. `Conv3x3` picks the tiling with `WinogradTile`, as for the forward.
///
/// The products run as outer products (like the forward's `gemm4x24`), so the reduction over tiles
/// stays in registers: V keeps the forward's layout [e][c][tile] and gives broadcasts, ∂M is laid
/// out [e][tile][o] and gives vectors along o. That layout is cheap to build because the gradient
/// transform is small: one tile of gy for 8 channels at once.
///
/// Tiles are split into a fixed number of chunks, each reduced into its own ∂L/∂U and summed in a
/// fixed order at the end, so results do not depend on the thread count. Within a chunk, tiles go
/// in `TileGeometry` blocks.
enum WinogradWeightGradient {
    static let blockTiles = TileGeometry.blockTiles
    static let maxChunks = 8

    /// gw = Σ over the batch of the correlation of x with gy, through F(2x2) or F(4x4) tiles.
    static func compute(x: UnsafePointer<Float>, n: Int, ci: Int, h: Int, w: Int,
                        gy: UnsafePointer<Float>, co: Int, gw: UnsafeMutablePointer<Float>,
                        tile: WinogradTile) {
        // Input rows padded to whole 3-row micro-kernel blocks (kept zero), o to whole vectors.
        let ciP = (ci + 2) / 3 * 3, coP = (co + 7) / 8 * 8
        let vStride = MicroKernel.componentStride(ciP * blockTiles)
        let mStride = MicroKernel.componentStride(blockTiles * coP)
        switch tile {
        case .f2x2:
            let geometry = TileGeometry(tile: 2, n: n, h: h, w: w, pad: 0)
            reduce(geometry, components: Winograd2x2.components, ci: ci, ciP: ciP, coP: coP, vStride: vStride,
                   mStride: mStride, transforms: { first, count, v, m in
                Winograd2x2.transformInput(x, ci: ci, geometry, first: first, count: count, v: v, eStride: vStride)
                transformGradient(gy, co: co, coP: coP, geometry, first: first, count: count,
                                  m: m, eStride: mStride)
            }, back: { du, c in transformBack(du, co: co, ci: ci, coP: coP, ciP: ciP, channel: c, gw: gw) })
        case .f4x4:
            let geometry = TileGeometry(tile: 4, n: n, h: h, w: w, pad: 0)
            reduce(geometry, components: Winograd4x4.components, ci: ci, ciP: ciP, coP: coP, vStride: vStride,
                   mStride: mStride, transforms: { first, count, v, m in
                Winograd4x4.transformInput(x, ci: ci, geometry, first: first, count: count, v: v, eStride: vStride)
                transformGradient4x4(gy, co: co, coP: coP, geometry, first: first, count: count,
                                     m: m, eStride: mStride)
            }, back: { du, c in transformBack4x4(du, co: co, ci: ci, coP: coP, ciP: ciP, channel: c, gw: gw) })
        }
    }

    /// ∂L/∂U[e][c][o] summed over all tile groups, in `maxChunks` chunks reduced in a fixed order,
    /// then handed to `back(du, c)` for every input channel c < ci. `transforms(first, count, v,
    /// m)` fills V ([e][c][tile], components `vStride` apart) and ∂M ([e][tile][o], `mStride`
    /// apart) for groups first ..< first + count of `g`.
    private static func reduce(
        _ g: TileGeometry, components: Int, ci: Int, ciP: Int, coP: Int, vStride: Int, mStride: Int,
        transforms: (_ first: Int, _ count: Int, _ v: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>) -> Void,
        back: (_ du: UnsafePointer<Float>, _ c: Int) -> Void
    ) {
        let vCount = components * vStride, mCount = components * mStride, uCount = components * ciP * coP
        let blocks = g.blocks
        let chunks = min(maxChunks, blocks)
        ScratchPool.shared.with(chunks * uCount) { du in
            ComputeThreads.parallelFor(chunks) { _, chunk in
                let dui = du + chunk * uCount
                ScratchPool.shared.with(vCount + mCount) { scratch in
                    let v = scratch, m = scratch + vCount
                    // The input rows past ci pad to whole micro-kernel blocks; the transforms
                    // never write them, so they are zeroed once. (Zeroing all of V, 100 KB at 32
                    // channels, took 2% of a training step at 53 x 71.)
                    for e in 0..<components {
                        (v + e * vStride + ci * blockTiles).update(repeating: 0, count: (ciP - ci) * blockTiles)
                    }
                    let chunkBlocks = (blocks * chunk / chunks)..<(blocks * (chunk + 1) / chunks)
                    for block in chunkBlocks {
                        let (first, count) = g.groups(of: block)
                        transforms(first, count, v, m)
                        // Tiles past the image's last one hold gy = 0, so they add nothing.
                        let tiles = count * TileGeometry.groupTiles
                        for e in 0..<components {
                            accumulate(v + e * vStride, m + e * mStride, tiles: tiles, ciP: ciP, coP: coP,
                                       into: dui + e * ciP * coP, fresh: block == chunkBlocks.lowerBound)
                        }
                    }
                }
            }
            // The chunks' sums, then gw, one input channel per item: each item adds and reads only
            // its channel's rows of ∂L/∂U. On the calling thread alone this took a tenth of the
            // serial part of a 2-thread training step at 53 x 71.
            ComputeThreads.parallelFor(ci) { _, c in
                for e in 0..<components {
                    let row = du + e * ciP * coP + c * coP
                    for chunk in 1..<chunks { Vector.accumulate(row + chunk * uCount, into: row, coP) }
                }
                back(du, c)
            }
        }
    }

    /// Calls `body(tile, o, gather)` for every tile of groups `first ..< first + count` of `g`
    /// and every 8 gradient channels o: `tile` is the tile's row of ∂M ([tile][o], one component,
    /// tiles in the transforms' lane order, `TileGeometry.lane(ofTile:)`),
    /// `gather(p, q)` reads gy[o ..< o + 8, row + p, column + q] of the tile, as zero outside the
    /// planes. Channels are the outer loop: the tiles of one block read a few rows of 8 planes at a
    /// time, a few pages and streams, where channels inside would touch all planes for every tile.
    ///
    /// A group whose 8 channels and `size` x 8 `size` window all lie inside gy is first transposed
    /// row by row into vectors over the channels (`singan_transpose8x16`), and `gather` reads
    /// those, while the next 8 channels' window is prefetched. Together the two took 15% off a
    /// weight gradient at 32 channels and 136 x 136; either alone gained 0-5% (BENCHMARKS.md,
    /// "Contiguous items").
    @inline(__always)
    static func forEachGradientTile(
        _ gy: UnsafePointer<Float>, co: Int, coP: Int, _ g: TileGeometry, first: Int, count: Int,
        m: UnsafeMutablePointer<Float>,
        _ body: (_ tile: UnsafeMutableRawPointer, _ o: Int, _ gather: GradientTile) -> Void
    ) {
        let plane = g.ho * g.wo
        let origins = (0..<count).map { g.origin(first + $0) }
        let columns = TileGeometry.groupTiles * g.size  // of a group's window, a multiple of 16
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: g.size * columns) { transposed in
            let rows = UnsafeMutableRawPointer(transposed.baseAddress!).assumingMemoryBound(to: Float.self)
            for o in stride(from: 0, to: coP, by: 8) {
                for (s, (b, row0, col0)) in origins.enumerated() {
                    let window = gy + (b * co + o) * plane + row0 * g.wo + col0
                    if o + 8 < co {  // the next 8 channels' window, as the forward's transforms do
                        for k in 0..<8 {
                            for p in 0..<g.size {
                                let ahead = window + (8 + k) * plane + p * g.wo
                                prefetch_for_read(ahead)
                                prefetch_for_read(ahead + columns - 1)
                            }
                        }
                    }
                    #if arch(x86_64)
                    let whole = o + 8 <= co && row0 + g.size <= g.ho && col0 + columns <= g.wo
                    if whole {
                        for p in 0..<g.size {
                            for half in stride(from: 0, to: columns, by: 16) {
                                singan_transpose8x16(window + p * g.wo + half, plane, rows + 8 * (p * columns + half))
                            }
                        }
                    }
                    #else
                    let whole = false
                    #endif
                    for t in 0..<TileGeometry.groupTiles {
                        let col = col0 + g.size * t
                        let tile = UnsafeMutableRawPointer(m + (s * TileGeometry.groupTiles + g.lane(ofTile: t)) * coP)
                        body(tile, o, GradientTile(
                            transposed: whole ? UnsafePointer(transposed.baseAddress! + g.size * t) : nil,
                            columns: columns, window: window + g.size * t, rowsLeft: g.ho - row0,
                            columnsLeft: g.wo - col, stride: g.wo, plane: plane,
                            channels: min(8, co - o)))
                    }
                }
            }
        }
    }

    /// ∂M[e][8s + lane][o] = (A gy Aᵀ)[e] (4x4 from the tile's 2x2 of gy) for F(2x2) tiles, for
    /// every gradient channel o (8 at a time), components `eStride` apart.
    static func transformGradient(_ gy: UnsafePointer<Float>, co: Int, coP: Int, _ g: TileGeometry,
                                  first: Int, count: Int, m: UnsafeMutablePointer<Float>, eStride: Int) {
        forEachGradientTile(gy, co: co, coP: coP, g, first: first, count: count, m: m) { tile, o, gather in
            let g00 = gather(0, 0), g01 = gather(0, 1), g10 = gather(1, 0), g11 = gather(1, 1)
            // Along columns: (g0, g0 + g1, g0 - g1, -g1) per row; then the same along rows.
            let r0 = (g00, g00 + g01, g00 - g01, -g01), r1 = (g10, g10 + g11, g10 - g11, -g11)
            @inline(__always) func put(_ e: Int, _ value: SIMD8<Float>) {
                tile.storeBytes(of: value, toByteOffset: 4 * (e * eStride + o), as: SIMD8<Float>.self)
            }
            put(0, r0.0); put(1, r0.1); put(2, r0.2); put(3, r0.3)
            put(4, r0.0 + r1.0); put(5, r0.1 + r1.1); put(6, r0.2 + r1.2); put(7, r0.3 + r1.3)
            put(8, r0.0 - r1.0); put(9, r0.1 - r1.1); put(10, r0.2 - r1.2); put(11, r0.3 - r1.3)
            put(12, -r1.0); put(13, -r1.1); put(14, -r1.2); put(15, -r1.3)
        }
    }

    /// du[c, o] += Σ_t v[c, t] · m[t, o] over `tiles` tiles, in blocks of 3 input channels by 32
    /// (then 8) gradient channels; v rows are `blockTiles` apart, m rows `coP`. With `fresh`,
    /// du = the sum: a chunk's first block overwrites its ∂L/∂U, which is therefore never
    /// zeroed (36 x 33 x 32 floats per chunk, up to 8 chunks: the memset took 2.3% of a training
    /// iteration's samples at 53 x 71). Same bits: the sums start from zero either way.
    static func accumulate(_ v: UnsafePointer<Float>, _ m: UnsafePointer<Float>, tiles: Int,
                           ciP: Int, coP: Int, into du: UnsafeMutablePointer<Float>, fresh: Bool) {
        for c in stride(from: 0, to: ciP, by: 3) {
            var o = 0
            while o + 32 <= coP {
                kernel3x32(v + c * blockTiles, m + o, ldm: coP, tiles: tiles, du + c * coP + o, ldu: coP,
                           fresh: fresh)
                o += 32
            }
            while o < coP {
                kernel3x8(v + c * blockTiles, m + o, ldm: coP, tiles: tiles, du + c * coP + o, ldu: coP,
                          fresh: fresh)
                o += 8
            }
        }
    }

    /// du[3, 32] += v[3, tiles] · m[tiles, 32] (= with `fresh`): 12 SIMD8 accumulators, per tile
    /// 3 broadcasts and 4 loads for 12 FMAs.
    @inline(__always)
    static func kernel3x32(_ v: UnsafePointer<Float>, _ m: UnsafePointer<Float>, ldm: Int, tiles: Int,
                           _ du: UnsafeMutablePointer<Float>, ldu: Int, fresh: Bool) {
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c02 = SIMD8<Float>(), c03 = SIMD8<Float>()
        var c10 = SIMD8<Float>(), c11 = SIMD8<Float>(), c12 = SIMD8<Float>(), c13 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c22 = SIMD8<Float>(), c23 = SIMD8<Float>()
        var mp = UnsafeRawPointer(m)
        for t in 0..<tiles {
            // 3 broadcasts, then one m vector at a time: 12 + 3 + 1 = 16 registers, no spills.
            let a0 = SIMD8<Float>(repeating: v[t]), a1 = SIMD8<Float>(repeating: v[blockTiles + t])
            let a2 = SIMD8<Float>(repeating: v[2 * blockTiles + t])
            let m0 = mp.loadUnaligned(as: SIMD8<Float>.self)
            c00 = c00.addingProduct(a0, m0); c10 = c10.addingProduct(a1, m0); c20 = c20.addingProduct(a2, m0)
            let m1 = mp.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
            c01 = c01.addingProduct(a0, m1); c11 = c11.addingProduct(a1, m1); c21 = c21.addingProduct(a2, m1)
            let m2 = mp.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
            c02 = c02.addingProduct(a0, m2); c12 = c12.addingProduct(a1, m2); c22 = c22.addingProduct(a2, m2)
            let m3 = mp.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
            c03 = c03.addingProduct(a0, m3); c13 = c13.addingProduct(a1, m3); c23 = c23.addingProduct(a2, m3)
            mp += 4 * ldm
        }
        @inline(__always) func add(_ row: Int, _ j: Int, _ value: SIMD8<Float>) {
            let p = UnsafeMutableRawPointer(du + row * ldu + 8 * j)
            p.storeBytes(of: fresh ? value : p.loadUnaligned(as: SIMD8<Float>.self) + value, as: SIMD8<Float>.self)
        }
        add(0, 0, c00); add(0, 1, c01); add(0, 2, c02); add(0, 3, c03)
        add(1, 0, c10); add(1, 1, c11); add(1, 2, c12); add(1, 3, c13)
        add(2, 0, c20); add(2, 1, c21); add(2, 2, c22); add(2, 3, c23)
    }

    /// du[3, 8] += v[3, tiles] · m[tiles, 8] (= with `fresh`), for the last columns of narrow
    /// gradients.
    @inline(__always)
    static func kernel3x8(_ v: UnsafePointer<Float>, _ m: UnsafePointer<Float>, ldm: Int, tiles: Int,
                          _ du: UnsafeMutablePointer<Float>, ldu: Int, fresh: Bool) {
        var c0 = SIMD8<Float>(), c1 = SIMD8<Float>(), c2 = SIMD8<Float>()
        var mp = UnsafeRawPointer(m)
        for t in 0..<tiles {
            let m0 = mp.loadUnaligned(as: SIMD8<Float>.self)
            c0 = c0.addingProduct(SIMD8(repeating: v[t]), m0)
            c1 = c1.addingProduct(SIMD8(repeating: v[blockTiles + t]), m0)
            c2 = c2.addingProduct(SIMD8(repeating: v[2 * blockTiles + t]), m0)
            mp += 4 * ldm
        }
        @inline(__always) func add(_ row: Int, _ value: SIMD8<Float>) {
            let p = UnsafeMutableRawPointer(du + row * ldu)
            p.storeBytes(of: fresh ? value : p.loadUnaligned(as: SIMD8<Float>.self) + value, as: SIMD8<Float>.self)
        }
        add(0, c0); add(1, c1); add(2, c2)
    }

    /// gw[o, c] = Gᵀ du[·, c, o] G for every o, with Gᵀ = [1 ½ ½ 0; 0 ½ -½ 0; 0 ½ ½ 1].
    static func transformBack(_ du: UnsafePointer<Float>, co: Int, ci: Int, coP: Int, ciP: Int,
                              channel c: Int, gw: UnsafeMutablePointer<Float>) {
        let eStride = ciP * coP
        for o in 0..<co {
            let src = du + c * coP + o
            @inline(__always) func u(_ i: Int, _ j: Int) -> Float { src[(4 * i + j) * eStride] }
            @inline(__always) func combine(_ a: Float, _ b: Float, _ c: Float, _ d: Float)
                -> (Float, Float, Float) {
                (a + 0.5 * (b + c), 0.5 * (b - c), 0.5 * (b + c) + d)
            }
            // Gᵀ along j for each row i, then along i.
            let r0 = combine(u(0, 0), u(0, 1), u(0, 2), u(0, 3))
            let r1 = combine(u(1, 0), u(1, 1), u(1, 2), u(1, 3))
            let r2 = combine(u(2, 0), u(2, 1), u(2, 2), u(2, 3))
            let r3 = combine(u(3, 0), u(3, 1), u(3, 2), u(3, 3))
            let k0 = combine(r0.0, r1.0, r2.0, r3.0)
            let k1 = combine(r0.1, r1.1, r2.1, r3.1)
            let k2 = combine(r0.2, r1.2, r2.2, r3.2)
            let dst = gw + (o * ci + c) * 9
            dst[0] = k0.0; dst[1] = k1.0; dst[2] = k2.0
            dst[3] = k0.1; dst[4] = k1.1; dst[5] = k2.1
            dst[6] = k0.2; dst[7] = k1.2; dst[8] = k2.2
        }
    }

    /// ∂M[e][8s + lane][o] = (A gy Aᵀ)[e] (6x6 from the tile's 4x4 of gy) for F(4x4) tiles, with
    /// A = Aᵀᵀ of `Winograd4x4`: rows (1 0 0 0), (1 1 1 1), (1 -1 1 -1), (1 2 4 8), (1 -2 4 -8),
    /// (0 0 0 1). Otherwise as `transformGradient`.
    static func transformGradient4x4(_ gy: UnsafePointer<Float>, co: Int, coP: Int, _ g: TileGeometry,
                                     first: Int, count: Int, m: UnsafeMutablePointer<Float>, eStride: Int) {
        let two = SIMD8<Float>(repeating: 2), four = SIMD8<Float>(repeating: 4), eight = SIMD8<Float>(repeating: 8)
        typealias Six = (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)
        @inline(__always) func transform(_ g0: SIMD8<Float>, _ g1: SIMD8<Float>, _ g2: SIMD8<Float>,
                                         _ g3: SIMD8<Float>) -> Six {
            let s02 = g0 + g2, s13 = g1 + g3, t0 = g0 + four * g2, t1 = two * g1 + eight * g3
            return (g0, s02 + s13, s02 - s13, t0 + t1, t0 - t1, g3)
        }
        forEachGradientTile(gy, co: co, coP: coP, g, first: first, count: count, m: m) { tile, o, gather in
            // A along columns for each of the 4 rows, then along rows for each column j.
            @inline(__always) func row(_ p: Int) -> Six {
                transform(gather(p, 0), gather(p, 1), gather(p, 2), gather(p, 3))
            }
            var rows = (row(0), row(1), row(2), row(3))
            withUnsafeBytes(of: &rows) { raw in
                for j in 0..<6 {
                    @inline(__always) func at(_ p: Int) -> SIMD8<Float> {
                        raw.load(fromByteOffset: 32 * (6 * p + j), as: SIMD8<Float>.self)
                    }
                    let c = transform(at(0), at(1), at(2), at(3))
                    @inline(__always) func put(_ i: Int, _ value: SIMD8<Float>) {
                        tile.storeBytes(of: value, toByteOffset: 4 * ((6 * i + j) * eStride + o),
                                        as: SIMD8<Float>.self)
                    }
                    put(0, c.0); put(1, c.1); put(2, c.2); put(3, c.3); put(4, c.4); put(5, c.5)
                }
            }
        }
    }

    /// gw[o, c] = Gᵀ du[·, c, o] G for every o, for F(4x4)'s 6x3 G (`Winograd4x4`):
    /// Gᵀ u = (u0/4 - (u1 + u2)/6 + (u3 + u4)/24,  (u2 - u1)/6 + (u3 - u4)/12,
    ///         (u3 + u4 - u1 - u2)/6 + u5).
    static func transformBack4x4(_ du: UnsafePointer<Float>, co: Int, ci: Int, coP: Int, ciP: Int,
                                 channel c: Int, gw: UnsafeMutablePointer<Float>) {
        let eStride = ciP * coP
        @inline(__always) func combine(_ u: SIMD8<Float>) -> SIMD4<Float> {
            let s12 = u[1] + u[2], s34 = u[3] + u[4]
            return SIMD4(u[0] / 4 - s12 / 6 + s34 / 24, (u[2] - u[1]) / 6 + (u[3] - u[4]) / 12,
                         (s34 - s12) / 6 + u[5], 0)
        }
        for o in 0..<co {
            let src = du + c * coP + o
            // Gᵀ along j for each row i (lane b of column b), then along i.
            @inline(__always) func row(_ i: Int) -> SIMD4<Float> {
                var u = SIMD8<Float>()
                for j in 0..<6 { u[j] = src[(6 * i + j) * eStride] }
                return combine(u)
            }
            let r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3), r4 = row(4), r5 = row(5)
            let dst = gw + (o * ci + c) * 9
            for b in 0..<3 {
                let k = combine(SIMD8(r0[b], r1[b], r2[b], r3[b], r4[b], r5[b], 0, 0))
                dst[b] = k[0]; dst[3 + b] = k[1]; dst[6 + b] = k[2]
            }
        }
    }
}

/// One tile of gy for 8 gradient channels, read by `WinogradWeightGradient.forEachGradientTile`'s
/// body as `gather(p, q)`: gy[o ..< o + 8, row + p, column + q], zero outside the planes. A
/// struct, not a closure: as a closure its 4 (F(2x2)) or 16 (F(4x4)) reads per tile stayed
/// indirect calls (`call *%r12`), 5.7% of a training iteration's samples at 128 x 128.
struct GradientTile {
    /// The group's rows transposed into vectors over the channels, at this tile's first column
    /// (`columns` vectors per row), when the group lies whole inside gy; else nil.
    let transposed: UnsafePointer<SIMD8<Float>>?
    let columns: Int
    /// gy at the tile's first row and column, channel o.
    let window: UnsafePointer<Float>
    /// Rows and columns of the tile inside gy, and the strides of a row and a channel plane.
    let rowsLeft: Int, columnsLeft: Int, stride: Int, plane: Int
    /// Channels o ..< o + `channels` exist (at most 8).
    let channels: Int

    @inline(__always)
    func callAsFunction(_ p: Int, _ q: Int) -> SIMD8<Float> {
        if let transposed { return transposed[p * columns + q] }
        var r = SIMD8<Float>()
        guard p < rowsLeft && q < columnsLeft else { return r }
        let at = window + p * stride + q
        for k in 0..<channels { r[k] = at[k * plane] }
        return r
    }
}
