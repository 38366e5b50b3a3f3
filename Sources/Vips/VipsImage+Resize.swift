import CVips

/// The size of one axis after scaling by `factor`, as the SinGAN pyramid
/// computes it: `ceil(size * factor)` in double precision.
public func pyramidSize(_ size: Int, factor: Double) -> Int {
    Int((Double(size) * factor).rounded(.up))
}

extension VipsImage {
    /// Resized to exactly `width` x `height` with a bicubic (Catmull-Rom)
    /// kernel, antialiased when shrinking.
    public func resized(width: Int, height: Int) throws -> VipsImage {
        guard width > 0, height > 0 else {
            throw VipsError.invalidArgument(name: "size", reason: "\(width)x\(height) must be positive")
        }
        if width == self.width && height == self.height { return self }
        return try apply("resize to \(width)x\(height)") { cvips_resize_exact($0, $1, Int32(width), Int32(height)) }
    }

    /// Resized by `factor` on both axes; each axis becomes `pyramidSize(size, factor:)`.
    public func resized(by factor: Double) throws -> VipsImage {
        guard factor > 0, factor.isFinite else {
            throw VipsError.invalidArgument(name: "factor", reason: "\(factor) must be positive and finite")
        }
        return try resized(width: pyramidSize(width, factor: factor), height: pyramidSize(height, factor: factor))
    }
}
