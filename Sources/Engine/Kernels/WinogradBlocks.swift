import CPrefetch

/// What the Winograd kernels (`Winograd2x2`, `Winograd4x4`, `WinogradWeightGradient`) share: the
/// tiling of the output into groups and blocks, the packed transformed filters, and the block loop
/// of the forward and input-gradient convolutions.

/// The output of one convolution call cut into `size` x `size` tiles (2 for F(2x2), 4 for F(4x4)).
/// The transforms give each tile one SIMD8 lane: a group is 8 horizontally adjacent tiles of one
/// tile row, and groups enumerate (image, tile row, column group). Blocks of `blockGroups` groups
/// (48 tiles: two 24-column strips of `gemm4x24`) are what one worker takes at a time; blocks of
/// 24 and 96 tiles measured 5-15% slower than 48 (docs/benchmark-history.md).
struct TileGeometry {
    static let groupTiles = 8
    static let blockGroups = 6
    static let blockTiles = groupTiles * blockGroups

    let size: Int
    let n: Int, h: Int, w: Int, pad: Int
    let ho: Int, wo: Int, tileRows: Int, groupsPerRow: Int, groups: Int

    /// The tiling of the valid 3x3 convolution of [n, ·, h, w] inputs zero-padded by `pad`.
    init(tile size: Int, n: Int, h: Int, w: Int, pad: Int) {
        self.size = size
        self.n = n; self.h = h; self.w = w; self.pad = pad
        ho = h + 2 * pad - 2; wo = w + 2 * pad - 2
        tileRows = (ho + size - 1) / size
        groupsPerRow = ((wo + size - 1) / size + Self.groupTiles - 1) / Self.groupTiles
        groups = n * tileRows * groupsPerRow
    }

    var blocks: Int { (groups + Self.blockGroups - 1) / Self.blockGroups }

    /// The first group of `block` and how many groups it holds.
    func groups(of block: Int) -> (first: Int, count: Int) {
        let first = block * Self.blockGroups
        return (first, min(Self.blockGroups, groups - first))
    }

    /// The lane of a group's vectors that holds its tile `t` (0 ..< 8, left to right), in the
    /// order the transforms' shuffles leave them (`Winograd2x2.lane(ofTile:)`,
    /// `Winograd4x4.lane(ofTile:)`).
    @inline(__always)
    func lane(ofTile t: Int) -> Int { size == 2 ? Winograd2x2.lane(ofTile: t) : Winograd4x4.lane(ofTile: t) }

    /// (image, first output row, first output column) of a group.
    func origin(_ group: Int) -> (b: Int, row: Int, col: Int) {
        let perImage = tileRows * groupsPerRow
        let b = group / perImage, r = group % perImage
        return (b, size * (r / groupsPerRow), size * Self.groupTiles * (r % groupsPerRow))
    }
}

/// Transformed filters packed for `gemm4x24`: U[e][co/4][ci][4], rows padded to a multiple of 4,
/// components `eStride` floats apart.
struct WinogradFilters {
    let base: UnsafeMutablePointer<Float>
    let components: Int, co: Int, ci: Int
    var coPadded: Int { (co + 3) / 4 * 4 }
    var eStride: Int { MicroKernel.componentStride(coPadded * ci) }

    static func count(components: Int, co: Int, ci: Int) -> Int {
        components * MicroKernel.componentStride((co + 3) / 4 * 4 * ci)
    }

    /// Calls `body(block)` for every packed row block of U (output channels 4 `block` ..< 4
    /// `block` + 4), on the workers from 512 channel pairs on. On the calling thread alone, the
    /// filter transforms of a 2-thread training step at 53 x 71 took a tenth of the time its worker
    /// waited (F(2x2)), and 4.3% of its samples (F(4x4), one filter at a time).
    static func forEachBlock(co: Int, ci: Int, _ body: (_ block: Int) -> Void) {
        let blocks = (co + 3) / 4
        if co * ci >= 512 {
            ComputeThreads.parallelFor(blocks) { _, block in body(block) }
        } else {
            for block in 0..<blocks { body(block) }
        }
    }

    /// Tap (ky, kx) of the filters of output channels 4 `block` ..< 4 `block` + 4 and input
    /// channel c, one per lane (zero past `co`). With `transposed`, of the transposed
    /// convolution's filters g'[c, o] = rot180(weight[o, c]), `weight` being [ci, co, 3, 3].
    @inline(__always)
    static func taps(_ weight: UnsafePointer<Float>, co: Int, ci: Int, transposed: Bool, block: Int,
                     channel c: Int, ky: Int, kx: Int) -> SIMD4<Float> {
        var filters = SIMD4<Float>()
        for l in 0..<min(4, co - 4 * block) {
            let o = 4 * block + l
            filters[l] = transposed ? weight[(c * co + o) * 9 + 8 - 3 * ky - kx] : weight[(o * ci + c) * 9 + 3 * ky + kx]
        }
        return filters
    }
}

enum WinogradBlocks {
    /// The Winograd convolution, block by block on `ComputeThreads`: `input` transforms a block's
    /// groups of x into V ([components][ci][blockTiles], components `vStride` apart), the products
    /// M_e = U_e · V_e follow, and `output` transforms M ([components][coPadded][blockTiles],
    /// components `mStride` apart) into the block's output tiles. Each block writes only its own
    /// tiles, so results do not depend on the thread count.
    static func convolve(
        _ g: TileGeometry, ci: Int, filters u: WinogradFilters,
        input: (_ first: Int, _ count: Int, _ v: UnsafeMutablePointer<Float>, _ vStride: Int) -> Void,
        output: (_ first: Int, _ count: Int, _ m: UnsafePointer<Float>, _ mStride: Int) -> Void
    ) {
        let blockTiles = TileGeometry.blockTiles, coP = u.coPadded
        let vStride = MicroKernel.componentStride(ci * blockTiles)
        let mStride = MicroKernel.componentStride(coP * blockTiles)
        let vCount = u.components * vStride, mCount = u.components * mStride
        ComputeThreads.parallelFor(g.blocks) { _, block in
            ScratchPool.shared.with(vCount + mCount) { scratch in
                let v = scratch, m = scratch + vCount
                let (first, count) = g.groups(of: block)
                input(first, count, v, vStride)
                let strips = (count * TileGeometry.groupTiles + 23) / 24
                for e in 0..<u.components {
                    let ue = u.base + e * u.eStride, ve = v + e * vStride, me = m + e * mStride
                    for ob in 0..<(coP / 4) {
                        for strip in 0..<strips {
                            MicroKernel.gemm4x24(ue + ob * ci * 4, ve + strip * 24, ldb: blockTiles, k: ci,
                                                 me + ob * 4 * blockTiles + strip * 24, ldc: blockTiles)
                        }
                    }
                }
                output(first, count, m, mStride)
            }
        }
    }

    /// How many channels ahead the transforms prefetch. Each channel's part of a block is a few
    /// short rows in planes 180 KB apart, too short for the hardware prefetcher to pick up:
    /// without hints every cache line is a miss to L3 or memory.
    static let prefetchDistance = 2

    /// Calls `body(c, s, plane, top, left)` for every input channel c and group s of groups
    /// `first ..< first + count`: the group's input window (size + 2 rows, 8 size + 2 columns)
    /// starts at (top, left) of `plane`, channel c of its image. Channels are the outer loop, so
    /// that consecutive groups of a tile row read each input row sequentially, and the window of
    /// channel c + `prefetchDistance` is prefetched.
    @inline(__always)
    static func forEachInputWindow(
        _ x: UnsafePointer<Float>, ci: Int, _ g: TileGeometry, first: Int, count: Int,
        _ body: (_ c: Int, _ s: Int, _ plane: UnsafePointer<Float>, _ top: Int, _ left: Int) -> Void
    ) {
        let origins = (0..<count).map { g.origin(first + $0) }
        let rows = g.size + 2, lastColumn = TileGeometry.groupTiles * g.size + 1
        for c in 0..<ci {
            for (s, (b, row0, col0)) in origins.enumerated() {
                let top = row0 - g.pad, left = col0 - g.pad
                if c + prefetchDistance < ci {
                    let ahead = x + (b * ci + c + prefetchDistance) * g.h * g.w + top * g.w + left
                    for r in 0..<rows {
                        for column in stride(from: 0, to: lastColumn - 1, by: 16) {
                            prefetch_for_read(ahead + r * g.w + column)
                        }
                        prefetch_for_read(ahead + r * g.w + lastColumn)
                    }
                }
                body(c, s, x + (b * ci + c) * g.h * g.w, top, left)
            }
        }
    }

    /// Calls `body(o, s, window, rows, cols)` for every output channel o < `co` and group s of
    /// groups `first ..< first + count`: `window` is the group's size x 8 size output window in y,
    /// of which `rows` x `cols` lie inside the output. Channels are the outer loop, so that
    /// consecutive groups write each output row sequentially, and the rows of channel
    /// o + `prefetchDistance` are prefetched for writing.
    @inline(__always)
    static func forEachOutputWindow(
        co: Int, _ g: TileGeometry, first: Int, count: Int, y: UnsafeMutablePointer<Float>,
        _ body: (_ o: Int, _ s: Int, _ window: UnsafeMutablePointer<Float>, _ rows: Int, _ cols: Int) -> Void
    ) {
        let origins = (0..<count).map { g.origin(first + $0) }
        let groupColumns = TileGeometry.groupTiles * g.size
        for o in 0..<co {
            for (s, (b, row0, col0)) in origins.enumerated() {
                if o + prefetchDistance < co {
                    let ahead = y + ((b * co + o + prefetchDistance) * g.ho + row0) * g.wo + col0
                    for r in 0..<g.size {
                        prefetch_for_write(ahead + r * g.wo)
                        prefetch_for_write(ahead + r * g.wo + groupColumns - 1)
                    }
                }
                body(o, s, y + ((b * co + o) * g.ho + row0) * g.wo + col0,
                     min(g.size, g.ho - row0), min(groupColumns, g.wo - col0))
            }
        }
    }
}
