#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Height and width of one image, in pixels.
public struct ImageSize: Codable, Equatable, Hashable, Sendable, CustomStringConvertible {
    public var height: Int
    public var width: Int
    public init(height: Int, width: Int) {
        self.height = height
        self.width = width
    }
    public var description: String { "\(width)x\(height)" }
}

/// The sizes of a SinGAN pyramid, computed exactly as the authors' release does (docs/ALGORITHM.md
/// section 1, natural logs in float64, `ceil(size * factor)` per axis), so that the pyramid of an
/// image matches the published one scale for scale.
public struct PyramidGeometry: Equatable, Sendable {
    /// The input image's size.
    public let input: ImageSize
    /// `min(maxSize / max(H, W), 1)`: the factor from the input to the working image.
    public let workingScale: Double
    /// The working image's size (the finest scale).
    public let working: ImageSize
    /// The real pyramid factor r between consecutive scales.
    public let factor: Double
    /// Sizes of every scale, index 0 the coarsest, the last one the working size.
    public let sizes: [ImageSize]

    /// The number of scales (`stop_scale + 1`).
    public var count: Int { sizes.count }

    /// Computes the pyramid of an image of `input` size. Fails when the image cannot hold a
    /// pyramid: shorter than `minSize`, or so elongated that scaling it to `maxSize` makes its
    /// shorter side smaller than `minSize`.
    public init(input: ImageSize, minSize: Int, maxSize: Int, scaleFactor: Double) throws {
        let h = Double(input.height), w = Double(input.width)
        let shorter = min(h, w), longer = max(h, w)
        guard Int(shorter) >= minSize else {
            throw SinGANError.imageTooSmall(path: nil, width: input.width, height: input.height,
                reason: "its shorter side (\(Int(shorter)) px) is below the minimum size \(minSize) px")
        }
        let numScales = Int(ceil(log(Double(minSize) / shorter) / log(scaleFactor))) + 1
        let scaleToStop = Int(ceil(log(min(Double(maxSize), longer) / longer) / log(scaleFactor)))
        let stopScale = numScales - scaleToStop
        let scale1 = min(Double(maxSize) / longer, 1)
        let working = ImageSize(height: Int(ceil(h * scale1)), width: Int(ceil(w * scale1)))
        let workingShorter = min(working.height, working.width)
        guard workingShorter >= minSize, stopScale >= 0 else {
            throw SinGANError.imageTooSmall(path: nil, width: input.width, height: input.height,
                reason: "at max size \(maxSize) its shorter side becomes \(workingShorter) px, below the minimum size \(minSize) px")
        }
        let r = stopScale == 0 ? 1 : pow(Double(minSize) / Double(workingShorter), 1 / Double(stopScale))
        self.input = input
        self.workingScale = scale1
        self.working = working
        self.factor = r
        self.sizes = (0...stopScale).map { i in
            let s = pow(r, Double(stopScale - i))
            return ImageSize(height: Int(ceil(Double(working.height) * s)),
                             width: Int(ceil(Double(working.width) * s)))
        }
    }
}
