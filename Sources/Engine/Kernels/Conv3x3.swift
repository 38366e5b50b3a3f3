/// Raw kernels of the 3x3, stride-1, unpadded ("valid") convolution on contiguous NCHW Float32
/// buffers. These are the three ops the autograd composes (see docs/ENGINE.md):
/// `forward`, `inputGradient` (its transpose) and `weightGradient`.
///
/// Every function overwrites its output buffer. Shapes:
/// - x: [n, ci, h, w], weight: [co, ci, 3, 3], y: [n, co, h-2, w-2]
///
/// All three run Winograd convolutions, F(2x2, 3x3) or F(4x4, 3x3) by channel count
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
                                       tile: WinogradTile.choose(ci: ci, co: co))
    }

    /// The valid 3x3 convolution of x padded by `pad`, through Winograd F(2x2, 3x3) or F(4x4, 3x3).
    static func winograd(
        x: UnsafePointer<Float>, n: Int, ci: Int, h: Int, w: Int, pad: Int,
        weight: UnsafePointer<Float>, co: Int, transposed: Bool, bias: UnsafePointer<Float>?,
        y: UnsafeMutablePointer<Float>, tile: WinogradTile? = nil
    ) {
        let tile = tile ?? WinogradTile.choose(ci: ci, co: co)
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

    /// F(4x4) from 64 channels on. Measured side by side (docs/benchmark-history.md), its forward takes 20%
    /// less time than F(2x2)'s at 128 channels, 4% less at 64, and 10% more at 32 on small images,
    /// where its heavier transforms and wider tile groups outweigh the products; its weight
    /// gradient 22-29% less at 64 and 128 channels.
    static func choose(ci: Int, co: Int) -> WinogradTile {
        min(ci, co) >= 64 ? .f4x4 : .f2x2
    }
}
