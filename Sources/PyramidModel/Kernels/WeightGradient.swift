/// The weight gradient of the 3x3 convolution as a direct reduction, with no im2col copy and no
/// BLAS packing: gw[o, c, ky, kx] = Σ_{b,i,j} gy[b, o, i, j] · x[b, c, i+ky, j+kx].
///
/// The inner kernel holds 4 output channels x 3 taps (kx) in 12 SIMD8 accumulators and streams
/// one row of gy per channel and three shifted loads of one x row: 12 FMAs per 7 loads, all from
/// L1. Work items are blocks of 16 output channels (each owns its rows of gw, so the threads never
/// reduce together; 8 per item measured ~10% slower, as x streams from L3 once per item); rows
/// are taken in chunks of 8 so the staged gy block stays in L2 while every input channel streams
/// past it. Rows of gy and x are staged zero-padded to whole vectors, so the kernel has no tail.
enum WeightGradient {
    static let rowsPerChunk = 8
    static let channelsPerItem = 16

    static func compute(x: UnsafePointer<Float>, n: Int, ci: Int, h: Int, w: Int,
                        gy: UnsafePointer<Float>, co: Int, gw: UnsafeMutablePointer<Float>) {
        let ho = h - 2, wo = w - 2
        let vectors = (wo + 7) / 8, wop = vectors * 8  // gy rows padded with zeros to whole vectors
        let xsw = wop + 8                              // staged x rows: w floats, then zeros
        let R = rowsPerChunk, items = (co + channelsPerItem - 1) / channelsPerItem
        let gyCount = channelsPerItem * R * wop, xsCount = (R + 2) * xsw
        KernelThreads.parallelFor(items) { _, item in
            ScratchPool.shared.with(gyCount + xsCount) { scratch in
                let gyS = scratch, xs = scratch + gyCount
                let o0 = item * channelsPerItem, oCount = min(channelsPerItem, co - o0)
                (gw + o0 * ci * 9).update(repeating: 0, count: oCount * ci * 9)
                gyS.update(repeating: 0, count: gyCount)
                xs.update(repeating: 0, count: xsCount)
                for b in 0..<n {
                    for row0 in stride(from: 0, to: ho, by: R) {
                        let rows = min(R, ho - row0)
                        for o in 0..<oCount {
                            for i in 0..<rows {
                                (gyS + (o * R + i) * wop).update(
                                    from: gy + ((b * co + o0 + o) * ho + row0 + i) * wo, count: wo)
                            }
                        }
                        for c in 0..<ci {
                            for i in 0..<(rows + 2) {
                                (xs + i * xsw).update(from: x + ((b * ci + c) * h + row0 + i) * w, count: w)
                            }
                            for sub in stride(from: 0, to: oCount, by: 4) {
                                for ky in 0..<3 {
                                    let sums = kernel(gyS + sub * R * wop, oStride: R * wop, wop: wop,
                                                      xs + ky * xsw, xsw: xsw, rows: rows, vectors: vectors)
                                    for o in 0..<min(4, oCount - sub) {
                                        let dst = gw + ((o0 + sub + o) * ci + c) * 9 + ky * 3
                                        dst[0] += sums[3 * o]; dst[1] += sums[3 * o + 1]; dst[2] += sums[3 * o + 2]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Σ over `rows` x `vectors`*8 of gy[o] · x shifted by kx, for 4 gy rows o (stride `oStride`)
    /// and kx = 0, 1, 2; returned as [o * 3 + kx]. Rows of the channels past the last one are zeros.
    @inline(__always)
    static func kernel(_ gy: UnsafePointer<Float>, oStride: Int, wop: Int,
                       _ x: UnsafePointer<Float>, xsw: Int, rows: Int, vectors: Int) -> SIMD16<Float> {
        var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a02 = SIMD8<Float>()
        var a10 = SIMD8<Float>(), a11 = SIMD8<Float>(), a12 = SIMD8<Float>()
        var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a22 = SIMD8<Float>()
        var a30 = SIMD8<Float>(), a31 = SIMD8<Float>(), a32 = SIMD8<Float>()
        for i in 0..<rows {
            let g = UnsafeRawPointer(gy + i * wop), xr = UnsafeRawPointer(x + i * xsw)
            for v in 0..<vectors {
                let off = 32 * v
                let x0 = xr.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self)
                let x1 = xr.loadUnaligned(fromByteOffset: off + 4, as: SIMD8<Float>.self)
                let x2 = xr.loadUnaligned(fromByteOffset: off + 8, as: SIMD8<Float>.self)
                let g0 = g.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self)
                a00 = a00.addingProduct(g0, x0); a01 = a01.addingProduct(g0, x1); a02 = a02.addingProduct(g0, x2)
                let g1 = g.loadUnaligned(fromByteOffset: off + 4 * oStride, as: SIMD8<Float>.self)
                a10 = a10.addingProduct(g1, x0); a11 = a11.addingProduct(g1, x1); a12 = a12.addingProduct(g1, x2)
                let g2 = g.loadUnaligned(fromByteOffset: off + 8 * oStride, as: SIMD8<Float>.self)
                a20 = a20.addingProduct(g2, x0); a21 = a21.addingProduct(g2, x1); a22 = a22.addingProduct(g2, x2)
                let g3 = g.loadUnaligned(fromByteOffset: off + 12 * oStride, as: SIMD8<Float>.self)
                a30 = a30.addingProduct(g3, x0); a31 = a31.addingProduct(g3, x1); a32 = a32.addingProduct(g3, x2)
            }
        }
        return SIMD16(a00.sum(), a01.sum(), a02.sum(), a10.sum(), a11.sum(), a12.sum(),
                      a20.sum(), a21.sum(), a22.sum(), a30.sum(), a31.sum(), a32.sum(), 0, 0, 0, 0)
    }
}
