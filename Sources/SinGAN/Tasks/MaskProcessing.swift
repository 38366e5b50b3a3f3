import Foundation
import Vips

/// The soft blending mask of harmonization and editing (docs/ALGORITHM.md section 4): a binary mask
/// dilated by a disk, blurred by a Gaussian and normalised to [0, 1]. Planar, row-major values.
public struct BlendMask: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// One weight per pixel in [0, 1]: 0 keeps the training image, 1 takes the model's result.
    public let weights: [Float]

    /// Dilation radius (pixels) for harmonization, as the authors' release.
    public static let harmonizationRadius = 7
    /// Dilation radius (pixels) for editing.
    public static let editingRadius = 20
    /// The Gaussian's standard deviation (pixels).
    public static let blurSigma = 5.0

    /// Dilates `binary` (true = edited) with a disk of `radius`, blurs it with a Gaussian of
    /// `sigma` and rescales it to [0, 1] by its minimum and maximum. Where the blurred mask is
    /// constant (an empty or a full mask) it is used as is.
    public init(binary: [Bool], width: Int, height: Int, radius: Int, sigma: Double = blurSigma) {
        precondition(binary.count == width * height, "BlendMask: \(binary.count) values for \(width)x\(height)")
        let dilated = dilate(binary, width: width, height: height, radius: radius)
        var blurred = gaussianBlur(dilated.map { $0 ? 1 : 0 }, width: width, height: height, sigma: sigma)
        let lo = blurred.min() ?? 0, hi = blurred.max() ?? 0
        if hi > lo {
            for i in blurred.indices { blurred[i] = (blurred[i] - lo) / (hi - lo) }
        }
        self.width = width
        self.height = height
        self.weights = blurred
    }

    /// A mask image as a binary mask of `size` (resized first if needed): a pixel is set when the
    /// mean of its colour bands is above half (white = edited). Alpha is flattened onto white
    /// like every input.
    public static func binaryMask(_ image: VipsImage, size: ImageSize) throws -> [Bool] {
        var rgb = try image.normalizedSRGB()
        if rgb.width != size.width || rgb.height != size.height {
            rgb = try rgb.resized(width: size.width, height: size.height)
        }
        let values = try rgb.planarFloats()
        let plane = size.width * size.height
        return (0..<plane).map { i in values[i] + values[plane + i] + values[2 * plane + i] > 0 }
    }

    /// `(1 - mask) * original + mask * result` for planar images of `channels` x height x width.
    public func blend(original: [Float], result: [Float], channels: Int) -> [Float] {
        let plane = width * height
        precondition(original.count == channels * plane && result.count == channels * plane,
                     "BlendMask.blend: images do not have \(channels) planes of \(width)x\(height)")
        var out = original
        for c in 0..<channels {
            for i in 0..<plane {
                let m = weights[i]
                out[c * plane + i] = (1 - m) * original[c * plane + i] + m * result[c * plane + i]
            }
        }
        return out
    }
}

/// Binary dilation by the disk `dx^2 + dy^2 <= radius^2` (scikit-image's `disk`): a pixel is set
/// when any set pixel lies within the disk around it. Row prefix sums make each disk row O(1).
public func dilate(_ mask: [Bool], width: Int, height: Int, radius: Int) -> [Bool] {
    guard radius > 0 else { return mask }
    // prefix[y][x + 1] = number of set pixels in row y left of x+1.
    var prefix = [Int](repeating: 0, count: height * (width + 1))
    for y in 0..<height {
        for x in 0..<width {
            prefix[y * (width + 1) + x + 1] = prefix[y * (width + 1) + x] + (mask[y * width + x] ? 1 : 0)
        }
    }
    let halfWidths = (0...radius).map { dy in Int(Double(radius * radius - dy * dy).squareRoot()) }
    var out = [Bool](repeating: false, count: mask.count)
    for y in 0..<height {
        for x in 0..<width {
            var hit = false
            for dy in -radius...radius where !hit {
                let yy = y + dy
                guard yy >= 0, yy < height else { continue }
                let half = halfWidths[abs(dy)]
                let lo = max(0, x - half), hi = min(width - 1, x + half)
                hit = prefix[yy * (width + 1) + hi + 1] - prefix[yy * (width + 1) + lo] > 0
            }
            out[y * width + x] = hit
        }
    }
    return out
}

/// Separable Gaussian blur with standard deviation `sigma`, truncated at 4 sigma and with the
/// nearest edge pixel repeated outside the image (scikit-image's `gaussian` defaults). Weights are
/// normalised to sum to 1, so a zero region farther than the truncation radius stays exactly 0.
public func gaussianBlur(_ values: [Float], width: Int, height: Int, sigma: Double) -> [Float] {
    guard sigma > 0 else { return values }
    let radius = Int((4 * sigma).rounded())
    var kernel = (-radius...radius).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
    let total = kernel.reduce(0, +)
    kernel = kernel.map { $0 / total }
    func pass(_ input: [Float], along horizontal: Bool) -> [Float] {
        var out = [Float](repeating: 0, count: input.count)
        for y in 0..<height {
            for x in 0..<width {
                var sum = 0.0
                for (i, k) in kernel.enumerated() {
                    let d = i - radius
                    let xx = horizontal ? min(max(x + d, 0), width - 1) : x
                    let yy = horizontal ? y : min(max(y + d, 0), height - 1)
                    sum += k * Double(input[yy * width + xx])
                }
                out[y * width + x] = Float(sum)
            }
        }
        return out
    }
    return pass(pass(values, along: true), along: false)
}
