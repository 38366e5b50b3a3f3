/// The register-blocked matrix product the Winograd convolutions are built on.
enum MicroKernel {
    /// c[4, 24] = a[4, k] · b[k, 24], with `a` packed k-major ([k][4]) and b, c row-major:
    /// 12 SIMD8 accumulators, per k 3 loads and 4 broadcasts for 12 FMAs (checked in the
    /// assembly: vfmadd231ps with vbroadcastss, no spills).
    @inline(__always)
    static func gemm4x24(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, ldb: Int, k: Int,
                         _ c: UnsafeMutablePointer<Float>, ldc: Int) {
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c02 = SIMD8<Float>()
        var c10 = SIMD8<Float>(), c11 = SIMD8<Float>(), c12 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c22 = SIMD8<Float>()
        var c30 = SIMD8<Float>(), c31 = SIMD8<Float>(), c32 = SIMD8<Float>()
        var ap = a, bp = UnsafeRawPointer(b)
        for _ in 0..<k {
            let b0 = bp.loadUnaligned(as: SIMD8<Float>.self)
            let b1 = bp.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
            let b2 = bp.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
            let a0 = SIMD8<Float>(repeating: ap[0]), a1 = SIMD8<Float>(repeating: ap[1])
            c00 = c00.addingProduct(a0, b0); c01 = c01.addingProduct(a0, b1); c02 = c02.addingProduct(a0, b2)
            c10 = c10.addingProduct(a1, b0); c11 = c11.addingProduct(a1, b1); c12 = c12.addingProduct(a1, b2)
            let a2 = SIMD8<Float>(repeating: ap[2]), a3 = SIMD8<Float>(repeating: ap[3])
            c20 = c20.addingProduct(a2, b0); c21 = c21.addingProduct(a2, b1); c22 = c22.addingProduct(a2, b2)
            c30 = c30.addingProduct(a3, b0); c31 = c31.addingProduct(a3, b1); c32 = c32.addingProduct(a3, b2)
            ap += 4; bp += 4 * ldb
        }
        let cp = UnsafeMutableRawPointer(c), row = 4 * ldc
        cp.storeBytes(of: c00, as: SIMD8<Float>.self)
        cp.storeBytes(of: c01, toByteOffset: 32, as: SIMD8<Float>.self)
        cp.storeBytes(of: c02, toByteOffset: 64, as: SIMD8<Float>.self)
        cp.storeBytes(of: c10, toByteOffset: row, as: SIMD8<Float>.self)
        cp.storeBytes(of: c11, toByteOffset: row + 32, as: SIMD8<Float>.self)
        cp.storeBytes(of: c12, toByteOffset: row + 64, as: SIMD8<Float>.self)
        cp.storeBytes(of: c20, toByteOffset: 2 * row, as: SIMD8<Float>.self)
        cp.storeBytes(of: c21, toByteOffset: 2 * row + 32, as: SIMD8<Float>.self)
        cp.storeBytes(of: c22, toByteOffset: 2 * row + 64, as: SIMD8<Float>.self)
        cp.storeBytes(of: c30, toByteOffset: 3 * row, as: SIMD8<Float>.self)
        cp.storeBytes(of: c31, toByteOffset: 3 * row + 32, as: SIMD8<Float>.self)
        cp.storeBytes(of: c32, toByteOffset: 3 * row + 64, as: SIMD8<Float>.self)
    }

    /// The distance between the components of a transformed block that holds `floats` floats per
    /// component: an odd number of 64-byte cache lines. A tile's 16 or 36 components are stored (and
    /// read back) together, one per component; at a plain stride that is a multiple of 4 KiB
    /// (48 tiles x 64 or 128 channels) all of them fall into one set of the 8-way L1 cache and evict
    /// each other.
    static func componentStride(_ floats: Int) -> Int { ((floats + 15) / 16 | 1) * 16 }
}
