import Engine
import Vips

/// The real images of every scale, built from one training image (docs/ALGORITHM.md section 1).
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

/// How the output of one scale is upsampled to the next scale's size. Recorded in the model
/// file, so a model is always sampled the way it was trained.
public enum Upsampling: String, Codable, Sendable, CaseIterable {
    /// A straight resize to the next scale's size (the default since model format 2). Our
    /// resizer maps coordinates by the ratio of sizes, as it does when it builds the pyramid, so
    /// the upsampled image of scale n-1 is aligned pixel for pixel with the real image of scale
    /// n: the upsampled real_{n-1} differs from real_n only by the detail scale n-1 lacks.
    case resize
    /// Grow by 1/r to `ceil(size / r)`, then crop the top-left window (format 1 models). This is
    /// how the authors' release upsamples, but it is aligned there only because its resizer maps
    /// coordinates by the exact factor r; with ours it stretches every upsampled image by up to
    /// a few percent against the next real image (issue 11). Kept so older models sample as
    /// they were trained.
    case growAndCrop = "grow-and-crop"
}

/// Upsamples the output of one scale (`image`) to the next scale's `size`; `r` is the pyramid
/// factor, used only by `.growAndCrop`.
public func upsampled(_ image: Tensor, to size: ImageSize, factor r: Double, mode: Upsampling) throws -> Tensor {
    switch mode {
    case .resize:
        return try resized(image, to: size)
    case .growAndCrop:
        let (h, w) = (image.shape[2], image.shape[3])
        let grown = ImageSize(height: max(Int((Double(h) / r).rounded(.up)), size.height),
                              width: max(Int((Double(w) / r).rounded(.up)), size.width))
        return cropTopLeft(try resized(image, to: grown), to: size)
    }
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

extension ImagePyramid {
    /// The lowest noise amplitude scale n can have: `0.1 x RMSE(resize(real_{n-1}, size_n),
    /// real_n)` (with the configured amplitude factor). sigma_n measures how far the
    /// reconstruction upsampled from scale n-1 is from real_n; even a perfect reconstruction of
    /// real_{n-1} lacks the detail that only scale n has, so sigma_n stays above this. A sigma
    /// far above it means a poor reconstruction or a misaligned upsampling. Nil at scale 0.
    public func noiseFloor(atScale n: Int, amplitudeFactor: Float) throws -> Float? {
        guard n > 0 else { return nil }
        let up = try resized(reals[n - 1], to: geometry.sizes[n])
        return amplitudeFactor * rootMeanSquare(reals[n], up)
    }
}
