import COpenBLAS

/// Raw kernels of the 3x3, stride-1, unpadded ("valid") convolution on contiguous NCHW Float32
/// buffers. These are the three ops the autograd composes (see docs/ENGINE.md):
/// `forward`, `inputGradient` (its transpose) and `weightGradient`.
///
/// Every function overwrites its output buffer. Shapes:
/// - x: [n, ci, h, w], weight: [co, ci, 3, 3], y: [n, co, h-2, w-2]
///
/// `forward` and `inputGradient` run Winograd F(2x2, 3x3) (`Winograd2x2`) on `KernelThreads.count`
/// threads of their own; `weightGradient` is an im2col + OpenBLAS sgemm reduction.
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
    /// gw[co, k] = Σ_p gy[co, p] · cols[k, p] over chunks of output rows, so the im2col copy of
    /// one chunk (`chunkFloats` floats) stays in the last-level cache between its write and the
    /// product that reads it. OpenBLAS supplies the threads.
    public static func weightGradient(
        x: UnsafePointer<Float>, n: Int, ci: Int, h: Int, w: Int,
        gy: UnsafePointer<Float>, co: Int,
        gw: UnsafeMutablePointer<Float>
    ) {
        let ho = h - 2, wo = w - 2, k = ci * 9
        precondition(ho > 0 && wo > 0, "Conv3x3.weightGradient: input \(h)x\(w) is smaller than 3x3")
        gw.update(repeating: 0, count: co * k)
        let rowsPerChunk = max(1, min(ho, chunkFloats / (k * wo)))
        ScratchPool.shared.with(k * rowsPerChunk * wo) { cols in
            for b in 0..<n {
                let xb = x + b * ci * h * w, gyb = gy + b * co * ho * wo
                for row0 in stride(from: 0, to: ho, by: rowsPerChunk) {
                    let rows = min(rowsPerChunk, ho - row0), p = rows * wo
                    im2col(xb, ci: ci, h: h, w: w, rows: row0..<(row0 + rows), cols: cols)
                    // gw[co, k] += gy[co, p-chunk] * cols^T[p-chunk, k]
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(co), Int32(k), Int32(p),
                                1, gyb + row0 * wo, Int32(ho * wo), cols, Int32(p), 1, gw, Int32(k))
                }
            }
        }
    }

    /// Size of one im2col chunk of `weightGradient`: 4 M floats = 16 MB, half the L3 cache.
    static let chunkFloats = 4 << 20

    /// The valid 3x3 convolution of x padded by `pad`, through Winograd F(2x2, 3x3).
    private static func winograd(
        x: UnsafePointer<Float>, n: Int, ci: Int, h: Int, w: Int, pad: Int,
        weight: UnsafePointer<Float>, co: Int, transposed: Bool, bias: UnsafePointer<Float>?,
        y: UnsafeMutablePointer<Float>
    ) {
        ScratchPool.shared.with(Winograd2x2.Filters.count(co: co, ci: ci)) { base in
            let filters = Winograd2x2.Filters(base: base, co: co, ci: ci)
            Winograd2x2.transformFilters(weight, co: co, ci: ci, transposed: transposed, into: filters)
            Winograd2x2.convolve(x: x, n: n, ci: ci, h: h, w: w, pad: pad, filters: filters,
                                 bias: bias, y: y)
        }
    }

    /// cols[(c*9 + ky*3 + kx), (i - rows.lowerBound)*wo + j] = x[c, i+ky, j+kx] for i in `rows`.
    static func im2col(_ x: UnsafePointer<Float>, ci: Int, h: Int, w: Int, rows: Range<Int>,
                       cols: UnsafeMutablePointer<Float>) {
        let wo = w - 2, p = rows.count * wo
        for c in 0..<ci {
            for ky in 0..<3 {
                for kx in 0..<3 {
                    let row = cols + ((c * 3 + ky) * 3 + kx) * p
                    for (r, i) in rows.enumerated() {
                        (row + r * wo).update(from: x + (c * h + i + ky) * w + kx, count: wo)
                    }
                }
            }
        }
    }
}
