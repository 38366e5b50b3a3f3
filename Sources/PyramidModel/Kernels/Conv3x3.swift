import COpenBLAS

/// Raw kernels of the 3x3, stride-1, unpadded ("valid") convolution on contiguous NCHW Float32
/// buffers. These are the three ops the autograd composes (see docs/ENGINE.md):
/// `forward`, `inputGradient` (its transpose) and `weightGradient`.
///
/// Every function overwrites its output buffer. Shapes:
/// - x: [n, ci, h, w], weight: [co, ci, 3, 3], y: [n, co, h-2, w-2]
public enum Conv3x3 {
    /// y = conv(x, weight) (+ bias per output channel).
    public static func forward(
        x: UnsafePointer<Float>, n: Int, ci: Int, h: Int, w: Int,
        weight: UnsafePointer<Float>, co: Int, bias: UnsafePointer<Float>?,
        y: UnsafeMutablePointer<Float>
    ) {
        let ho = h - 2, wo = w - 2, k = ci * 9, p = ho * wo
        precondition(ho > 0 && wo > 0, "Conv3x3.forward: input \(h)x\(w) is smaller than 3x3")
        let cols = UnsafeMutablePointer<Float>.allocate(capacity: k * p)
        defer { cols.deallocate() }
        for b in 0..<n {
            im2col(x + b * ci * h * w, ci: ci, h: h, w: w, cols: cols)
            let yb = y + b * co * p
            if let bias {
                for o in 0..<co { (yb + o * p).update(repeating: bias[o], count: p) }
            }
            // y[co, p] = weight[co, k] * cols[k, p]
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(co), Int32(p), Int32(k),
                        1, weight, Int32(k), cols, Int32(p), bias == nil ? 0 : 1, yb, Int32(p))
        }
    }

    /// gx = full convolution of gy with the 180°-rotated weight: the gradient of `forward`
    /// with respect to x. gy: [n, co, ho, wo], gx: [n, ci, ho+2, wo+2].
    public static func inputGradient(
        gy: UnsafePointer<Float>, n: Int, co: Int, ho: Int, wo: Int,
        weight: UnsafePointer<Float>, ci: Int,
        gx: UnsafeMutablePointer<Float>
    ) {
        let h = ho + 2, w = wo + 2, k = ci * 9, p = ho * wo
        let cols = UnsafeMutablePointer<Float>.allocate(capacity: k * p)
        defer { cols.deallocate() }
        for b in 0..<n {
            // cols[k, p] = weight^T[k, co] * gy[co, p], then scatter-add back to image layout.
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(k), Int32(p), Int32(co),
                        1, weight, Int32(k), gy + b * co * p, Int32(p), 0, cols, Int32(p))
            col2im(cols, ci: ci, h: h, w: w, x: gx + b * ci * h * w)
        }
    }

    /// gw = sum over the batch of the correlation of x with gy: the gradient of `forward`
    /// with respect to the weight. x: [n, ci, h, w], gy: [n, co, h-2, w-2], gw: [co, ci, 3, 3].
    public static func weightGradient(
        x: UnsafePointer<Float>, n: Int, ci: Int, h: Int, w: Int,
        gy: UnsafePointer<Float>, co: Int,
        gw: UnsafeMutablePointer<Float>
    ) {
        let ho = h - 2, wo = w - 2, k = ci * 9, p = ho * wo
        let cols = UnsafeMutablePointer<Float>.allocate(capacity: k * p)
        defer { cols.deallocate() }
        for b in 0..<n {
            im2col(x + b * ci * h * w, ci: ci, h: h, w: w, cols: cols)
            // gw[co, k] (+)= gy[co, p] * cols^T[p, k]
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(co), Int32(k), Int32(p),
                        1, gy + b * co * p, Int32(p), cols, Int32(p), b == 0 ? 0 : 1, gw, Int32(k))
        }
        if n == 0 { gw.update(repeating: 0, count: co * k) }
    }

    /// cols[(c*9 + ky*3 + kx), i*wo + j] = x[c, i+ky, j+kx]
    static func im2col(_ x: UnsafePointer<Float>, ci: Int, h: Int, w: Int,
                       cols: UnsafeMutablePointer<Float>) {
        let ho = h - 2, wo = w - 2, p = ho * wo
        for c in 0..<ci {
            for ky in 0..<3 {
                for kx in 0..<3 {
                    let row = cols + ((c * 3 + ky) * 3 + kx) * p
                    for i in 0..<ho {
                        (row + i * wo).update(from: x + (c * h + i + ky) * w + kx, count: wo)
                    }
                }
            }
        }
    }

    /// The adjoint of `im2col`: x = 0, then x[c, i+ky, j+kx] += cols[(c*9 + ky*3 + kx), i*wo + j].
    static func col2im(_ cols: UnsafePointer<Float>, ci: Int, h: Int, w: Int,
                       x: UnsafeMutablePointer<Float>) {
        let ho = h - 2, wo = w - 2, p = ho * wo
        x.update(repeating: 0, count: ci * h * w)
        for c in 0..<ci {
            for ky in 0..<3 {
                for kx in 0..<3 {
                    let row = cols + ((c * 3 + ky) * 3 + kx) * p
                    for i in 0..<ho {
                        let dst = x + (c * h + i + ky) * w + kx, src = row + i * wo
                        for j in 0..<wo { dst[j] += src[j] }
                    }
                }
            }
        }
    }
}
