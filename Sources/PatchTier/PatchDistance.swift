/// The distance between two 7 x 7 RGB patches: the sum of squared differences of their 147
/// values (GPNN compares patches by Euclidean distance; its square orders them the same way).
///
/// A patch row is 7 pixels of 4 floats (`PatchImage`), 28 contiguous floats, read as one 16-,
/// one 8- and one 4-wide vector into three separate accumulators (Swift does not vectorise a
/// float reduction by itself). 147 useful multiply-adds cost 7 x 3 vector operations.
enum PatchDistance {
    /// Patch side in pixels, as GPNN uses it.
    static let side = 7

    /// Floats in one patch row.
    static let rowFloats = side * PatchImage.channels

    /// The squared distance between the patch whose top-left float is `a` (rows `aStride` floats
    /// apart) and the one at `b`. Once the first four rows already exceed `bound`, it stops and
    /// returns that partial sum (still above `bound`): a candidate that cannot win costs about half.
    @inline(__always)
    static func squared(_ a: UnsafePointer<Float>, _ aStride: Int,
                        _ b: UnsafePointer<Float>, _ bStride: Int, bound: Float) -> Float {
        var acc16 = SIMD16<Float>(), acc8 = SIMD8<Float>(), acc4 = SIMD4<Float>()
        var pa = UnsafeRawPointer(a), pb = UnsafeRawPointer(b)
        let aBytes = aStride * MemoryLayout<Float>.stride, bBytes = bStride * MemoryLayout<Float>.stride
        @inline(__always) func row() {
            let d16 = pa.loadUnaligned(as: SIMD16<Float>.self) - pb.loadUnaligned(as: SIMD16<Float>.self)
            let d8 = pa.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
                - pb.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
            let d4 = pa.loadUnaligned(fromByteOffset: 96, as: SIMD4<Float>.self)
                - pb.loadUnaligned(fromByteOffset: 96, as: SIMD4<Float>.self)
            acc16.addProduct(d16, d16)
            acc8.addProduct(d8, d8)
            acc4.addProduct(d4, d4)
            pa += aBytes; pb += bBytes
        }
        row(); row(); row(); row()
        let partial = acc16.sum() + acc8.sum() + acc4.sum()
        if partial > bound { return partial }
        row(); row(); row()
        return acc16.sum() + acc8.sum() + acc4.sum()
    }
}

extension SIMD where Scalar == Float {
    /// `self += a * b`, one fused multiply-add per lane.
    @inline(__always)
    mutating func addProduct(_ a: Self, _ b: Self) {
        self = self.addingProduct(a, b)
    }
}
