/// Element-wise and reduction kernels over raw Float buffers, eight lanes (AVX2) at a time.
///
/// Element-wise kernels use explicit SIMD8 loads and stores: LLVM left some of the plain loops
/// (the broadcasting binary op) scalar. Float reductions are never vectorised automatically
/// (that would reorder additions), so the sums use SIMD8 accumulators, several of them to hide
/// the add latency. Their summation order depends on the count alone: results are deterministic.
enum Vector {
    @inline(__always)
    static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// Sum of `n` values.
    static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= n {
            a0 += load8(x + i); a1 += load8(x + i + 8)
            a2 += load8(x + i + 16); a3 += load8(x + i + 24)
            i += 32
        }
        while i + 8 <= n { a0 += load8(x + i); i += 8 }
        var s = ((a0 + a1) + (a2 + a3)).sum()
        while i < n { s += x[i]; i += 1 }
        return s
    }

    /// Sum of squared deviations from `mean`.
    static func sumSquaredDeviations(_ x: UnsafePointer<Float>, _ n: Int, mean: Float) -> Float {
        let m = SIMD8<Float>(repeating: mean)
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= n {
            let d0 = load8(x + i) - m, d1 = load8(x + i + 8) - m
            let d2 = load8(x + i + 16) - m, d3 = load8(x + i + 24) - m
            a0.addProduct(d0, d0); a1.addProduct(d1, d1); a2.addProduct(d2, d2); a3.addProduct(d3, d3)
            i += 32
        }
        while i + 8 <= n { let d = load8(x + i) - m; a0.addProduct(d, d); i += 8 }
        var s = ((a0 + a1) + (a2 + a3)).sum()
        while i < n { let d = x[i] - mean; s += d * d; i += 1 }
        return s
    }

    /// With g' = (mask[i] > 0 ? g[i] : slope * g[i]): the sums of g' and of g' * (x[i] - mean).
    /// (slope 1 makes the mask irrelevant.)
    static func maskedSums(_ g: UnsafePointer<Float>, mask: UnsafePointer<Float>, slope: Float,
                           _ x: UnsafePointer<Float>, _ n: Int, mean: Float) -> (Float, Float) {
        let m = SIMD8<Float>(repeating: mean), sl = SIMD8<Float>(repeating: slope), zero = SIMD8<Float>()
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), d0 = SIMD8<Float>(), d1 = SIMD8<Float>()
        @inline(__always) func masked(_ i: Int) -> SIMD8<Float> {
            let gv = load8(g + i)
            return (gv * sl).replacing(with: gv, where: load8(mask + i) .> zero)
        }
        var i = 0
        while i + 16 <= n {
            let g0 = masked(i), g1 = masked(i + 8)
            s0 += g0; s1 += g1
            d0.addProduct(g0, load8(x + i) - m); d1.addProduct(g1, load8(x + i + 8) - m)
            i += 16
        }
        while i + 8 <= n {
            let g0 = masked(i)
            s0 += g0
            d0.addProduct(g0, load8(x + i) - m)
            i += 8
        }
        var s = (s0 + s1).sum(), d = (d0 + d1).sum()
        while i < n {
            let gi = mask[i] > 0 ? g[i] : g[i] * slope
            s += gi
            d += gi * (x[i] - mean)
            i += 1
        }
        return (s, d)
    }

    /// With g' = (mask[i] > 0 ? g[i] : slope * g[i]): the sums of u, of u * (x[i] - mean) and of
    /// u * g' (slope 1 makes the mask irrelevant), for `batchNormInputGradient`'s backward.
    static func inputGradientSums(_ u: UnsafePointer<Float>, _ g: UnsafePointer<Float>, mask: UnsafePointer<Float>,
                                  slope: Float, _ x: UnsafePointer<Float>, _ n: Int, mean: Float) -> SIMD3<Float> {
        let m = SIMD8<Float>(repeating: mean), sl = SIMD8<Float>(repeating: slope), zero = SIMD8<Float>()
        var su0 = SIMD8<Float>(), su1 = SIMD8<Float>(), sx0 = SIMD8<Float>(), sx1 = SIMD8<Float>()
        var sg0 = SIMD8<Float>(), sg1 = SIMD8<Float>()
        @inline(__always) func masked(_ i: Int) -> SIMD8<Float> {
            let gv = load8(g + i)
            return (gv * sl).replacing(with: gv, where: load8(mask + i) .> zero)
        }
        var i = 0
        while i + 16 <= n {
            let u0 = load8(u + i), u1 = load8(u + i + 8)
            su0 += u0; su1 += u1
            sx0.addProduct(u0, load8(x + i) - m); sx1.addProduct(u1, load8(x + i + 8) - m)
            sg0.addProduct(u0, masked(i)); sg1.addProduct(u1, masked(i + 8))
            i += 16
        }
        while i + 8 <= n {
            let u0 = load8(u + i)
            su0 += u0
            sx0.addProduct(u0, load8(x + i) - m)
            sg0.addProduct(u0, masked(i))
            i += 8
        }
        var s = SIMD3((su0 + su1).sum(), (sx0 + sx1).sum(), (sg0 + sg1).sum())
        while i < n {
            let gi = mask[i] > 0 ? g[i] : g[i] * slope
            s += SIMD3(u[i], u[i] * (x[i] - mean), u[i] * gi)
            i += 1
        }
        return s
    }

    @inline(__always)
    static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// The first `count` (< 8) values of `p`, zero-filled.
    @inline(__always)
    static func loadPartial(_ p: UnsafePointer<Float>, _ count: Int) -> SIMD8<Float> {
        var v = SIMD8<Float>()
        for k in 0..<count { v[k] = p[k] }
        return v
    }

    /// o[i] = f(a[i * sa], b[i * sb]) for i < n, where each stride is 1 (contiguous) or 0
    /// (one repeated value). Eight lanes at a time; the tail runs on a partial vector.
    @inline(__always)
    static func binary(_ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>, _ sb: Int,
                       _ o: UnsafeMutablePointer<Float>, _ n: Int,
                       _ f: (SIMD8<Float>, SIMD8<Float>) -> SIMD8<Float>) {
        guard n > 0 else { return }
        let aSplat = SIMD8<Float>(repeating: a[0]), bSplat = SIMD8<Float>(repeating: b[0])
        var i = 0
        while i + 8 <= n {
            store8(f(sa == 1 ? load8(a + i) : aSplat, sb == 1 ? load8(b + i) : bSplat), o + i)
            i += 8
        }
        if i < n {
            let r = f(sa == 1 ? loadPartial(a + i, n - i) : aSplat, sb == 1 ? loadPartial(b + i, n - i) : bSplat)
            for k in 0..<(n - i) { o[i + k] = r[k] }
        }
    }

    /// out[i] = a[i] + b[i]
    static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
        binary(a, 1, b, 1, out, n) { $0 + $1 }
    }

    /// out[i] += x[i]
    static func accumulate(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, _ n: Int) {
        binary(x, 1, out, 1, out, n) { $0 + $1 }
    }
}

extension SIMD8 where Scalar == Float {
    /// self += a * b (fused multiply-add under -target-cpu haswell).
    @inline(__always)
    mutating func addProduct(_ a: SIMD8<Float>, _ b: SIMD8<Float>) {
        self = self.addingProduct(a, b)
    }
}
