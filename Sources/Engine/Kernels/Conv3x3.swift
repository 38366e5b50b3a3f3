/// Raw kernels of the 3x3, stride-1, unpadded ("valid") convolution on contiguous NCHW Float32
/// buffers. These are the three ops the autograd composes (see docs/ENGINE.md):
/// `forward`, `inputGradient` (its transpose) and `weightGradient`.
///
/// Every function overwrites its output buffer. Shapes:
/// - x: [n, ci, h, w], weight: [co, ci, 3, 3], y: [n, co, h-2, w-2]
///
/// All three run Winograd convolutions, F(4x4, 3x3), or F(2x2, 3x3) on small outputs
/// (`WinogradTile`): `forward` and `inputGradient` through `Winograd2x2` / `Winograd4x4`,
/// `weightGradient` through their transpose (`WinogradWeightGradient`), on
/// `ComputeThreads.count` threads of their own;
/// none of them calls BLAS, so no OpenBLAS threads compete with them.
public enum Conv3x3 {
    /// y = conv(x, weight) (+ bias per output channel).
    public static func forward(
        x: UnsafePointer<Float>, n: Int, ci: Int, h: Int, w: Int,
        weight: UnsafePointer<Float>, co: Int, bias: UnsafePointer<Float>?,
        y: UnsafeMutablePointer<Float>
    ) {
        precondition(h >= 3 && w >= 3, "Conv3x3.forward: input \(h)x\(w) is smaller than 3x3")
        winograd(x: x, n: n, ci: ci, h: h, w: w, pad: 0, weight: weight, co: co, transposed: false,
                 bias: bias, y: y)
    }

    /// gx = full convolution of gy with the 180°-rotated weight: the gradient of `forward`
    /// with respect to x. gy: [n, co, ho, wo], gx: [n, ci, ho+2, wo+2].
    ///
    /// Computed as a valid convolution of gy zero-padded by 2 with the transposed, rotated filters,
    /// so it shares the Winograd path of `forward`; the padding is never materialised.
    public static func inputGradient(
        gy: UnsafePointer<Float>, n: Int, co: Int, ho: Int, wo: Int,
        weight: UnsafePointer<Float>, ci: Int,
        gx: UnsafeMutablePointer<Float>
    ) {
        precondition(ho >= 1 && wo >= 1, "Conv3x3.inputGradient: output gradient \(ho)x\(wo) is empty")
        winograd(x: gy, n: n, ci: co, h: ho, w: wo, pad: 2, weight: weight, co: ci, transposed: true,
                 bias: nil, y: gx)
    }

    /// gw = sum over the batch of the correlation of x with gy: the gradient of `forward`
    /// with respect to the weight. x: [n, ci, h, w], gy: [n, co, h-2, w-2], gw: [co, ci, 3, 3].
    ///
    /// Winograd's transpose (`WinogradWeightGradient`): 2.25x (F(2x2)) or 4x (F(4x4)) fewer
    /// multiplies than the direct reduction.
    public static func weightGradient(
        x: UnsafePointer<Float>, n: Int, ci: Int, h: Int, w: Int,
        gy: UnsafePointer<Float>, co: Int,
        gw: UnsafeMutablePointer<Float>
    ) {
        precondition(h >= 3 && w >= 3, "Conv3x3.weightGradient: input \(h)x\(w) is smaller than 3x3")
        WinogradWeightGradient.compute(x: x, n: n, ci: ci, h: h, w: w, gy: gy, co: co, gw: gw,
                                       tile: WinogradTile.choose(n: n, h: h, w: w, pad: 0))
    }

    /// The valid 3x3 convolution of x padded by `pad`, through Winograd F(2x2, 3x3) or F(4x4, 3x3).
    static func winograd(
        x: UnsafePointer<Float>, n: Int, ci: Int, h: Int, w: Int, pad: Int,
        weight: UnsafePointer<Float>, co: Int, transposed: Bool, bias: UnsafePointer<Float>?,
        y: UnsafeMutablePointer<Float>, tile: WinogradTile? = nil
    ) {
        let tile = tile ?? WinogradTile.choose(n: n, h: h, w: w, pad: pad)
        ScratchPool.shared.with(WinogradFilters.count(components: tile.components, co: co, ci: ci)) { base in
            let filters = WinogradFilters(base: base, components: tile.components, co: co, ci: ci)
            switch tile {
            case .f2x2:
                Winograd2x2.transformFilters(weight, co: co, ci: ci, transposed: transposed, into: filters)
                Winograd2x2.convolve(x: x, n: n, ci: ci, h: h, w: w, pad: pad, filters: filters, bias: bias, y: y)
            case .f4x4:
                Winograd4x4.transformFilters(weight, co: co, ci: ci, transposed: transposed, into: filters)
                Winograd4x4.convolve(x: x, n: n, ci: ci, h: h, w: w, pad: pad, filters: filters, bias: bias, y: y)
            }
        }
    }
}

/// The output tile of the Winograd convolutions (forward, input gradient and weight gradient).
enum WinogradTile {
    /// F(2x2, 3x3): 2.25x fewer multiplies than direct, light transforms.
    case f2x2
    /// F(4x4, 3x3): 4x fewer multiplies, heavier transforms.
    case f4x4

    /// Transform components per tile: (2 + 2)² or (4 + 2)².
    var components: Int {
        switch self {
        case .f2x2: Winograd2x2.components
        case .f4x4: Winograd4x4.components
        }
    }

    /// F(4x4) at every channel count when its tiling of the output (`n` images of h x w, padded by
    /// `pad`) makes at least `minimumBlocks` blocks, else F(2x2).
    ///
    /// Until 2026-12-03 F(2x2) ran below 64 channels, where F(4x4) measured 10-25% slower; that
    /// came from its transforms' code, not the algebra: the compiler's shuffle sequences for its
    /// column split and a malloc per output tile (BENCHMARKS.md, "F(4x4) at 32 channels"). With
    /// those fixed, a 1-thread training iteration at 32 channels took 16-24% fewer samples at
    /// 128 x 128 with F(4x4) on the 32 -> 32 layers, and 6-11% fewer again with it on the 3- and
    /// 1-channel ones. But a block of F(4x4) tiles covers 4 times the output of an F(2x2) block:
    /// at 25 x 34 (3 blocks per layer) two threads shared them unevenly, and the iteration took
    /// 0.032 s against 0.028 with F(2x2) (9 blocks). The choice depends on the shape only, never
    /// on the thread count, so results stay the same on any number of threads.
    static func choose(n: Int, h: Int, w: Int, pad: Int) -> WinogradTile {
        TileGeometry(tile: 4, n: n, h: h, w: w, pad: pad).blocks >= minimumBlocks ? .f4x4 : .f2x2
    }

    /// Enough F(4x4) blocks for two workers to get two each.
    static let minimumBlocks = 4
}
