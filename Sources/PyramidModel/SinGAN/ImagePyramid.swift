import Vips

/// The real images of every scale, built from one training image (SINGAN.md section 1).
public struct ImagePyramid {
    /// The sizes and factor.
    public let geometry: PyramidGeometry
    /// reals[n]: [1, 3, h_n, w_n] in [-1, 1]; index 0 the coarsest.
    public let reals: [Tensor]

    /// Builds the pyramid of a channel-major RGB image in [-1, 1] (`VipsImage.planarFloats()`
    /// of a 3-band sRGB image). Every scale is resized from the working image, bicubic with
    /// antialiasing, in floating point (no 8-bit rounding, unlike the authors' code).
    public init(planarRGB data: [Float], size: ImageSize, config: TrainingConfig) throws {
        precondition(data.count == 3 * size.height * size.width,
                     "ImagePyramid: \(data.count) values for a 3-channel \(size) image")
        let geometry = try PyramidGeometry(input: size, minSize: config.minSize, maxSize: config.maxSize,
                                           scaleFactor: config.scaleFactor)
        let working = try resizePlanar(data, channels: 3, height: size.height, width: size.width,
                                       toHeight: geometry.working.height, toWidth: geometry.working.width)
        self.geometry = geometry
        self.reals = try geometry.sizes.map { s in
            let values = try resizePlanar(working, channels: 3, height: geometry.working.height,
                                          width: geometry.working.width, toHeight: s.height, toWidth: s.width)
            return Tensor(shape: [1, 3, s.height, s.width], scalars: values)
        }
    }

    /// Loads an image file (any format libvips reads; alpha flattened onto white, grey made
    /// RGB by `normalizedSRGB()`) and builds its pyramid. Errors name the file.
    public init(imageAt path: String, config: TrainingConfig) throws {
        let image = try VipsImage.load(path: path).normalizedSRGB()
        do {
            try self.init(planarRGB: try image.planarFloats(),
                          size: ImageSize(height: image.height, width: image.width), config: config)
        } catch let SinGANError.imageTooSmall(_, width, height, reason) {
            throw SinGANError.imageTooSmall(path: path, width: width, height: height, reason: reason)
        }
    }
}

/// Resizes an [1, C, h, w] image tensor to exactly `size` (bicubic, antialiased when shrinking).
/// Outside autograd: resized images are constants of the training graph.
public func resized(_ image: Tensor, to size: ImageSize) throws -> Tensor {
    let (c, h, w) = (image.shape[1], image.shape[2], image.shape[3])
    if h == size.height && w == size.width { return image.detached() }
    let values = try resizePlanar(image.scalars, channels: c, height: h, width: w,
                                   toHeight: size.height, toWidth: size.width)
    return Tensor(shape: [1, c, size.height, size.width], scalars: values)
}

/// Upsamples the output of one scale for the next: by 1/r (`ceil(size / r)` per axis, at least
/// `size`), then crops the top-left `size` window, as the authors' release does.
public func upsampled(_ image: Tensor, factor r: Double, to size: ImageSize) throws -> Tensor {
    let (h, w) = (image.shape[2], image.shape[3])
    let grown = ImageSize(height: max(Int((Double(h) / r).rounded(.up)), size.height),
                          width: max(Int((Double(w) / r).rounded(.up)), size.width))
    let big = try resized(image, to: grown)
    return cropTopLeft(big, to: size)
}

/// The top-left `size` window of an [N, C, H, W] tensor (a constant, outside autograd).
func cropTopLeft(_ x: Tensor, to size: ImageSize) -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    if h == size.height && w == size.width { return x.detached() }
    precondition(size.height <= h && size.width <= w, "cropTopLeft: \(size) exceeds \(w)x\(h)")
    var out = [Float](repeating: 0, count: n * c * size.height * size.width)
    x.scalars.withUnsafeBufferPointer { src in
        for plane in 0..<(n * c) {
            for i in 0..<size.height {
                for j in 0..<size.width {
                    out[(plane * size.height + i) * size.width + j] = src[(plane * h + i) * w + j]
                }
            }
        }
    }
    return Tensor(shape: [n, c, size.height, size.width], scalars: out)
}
