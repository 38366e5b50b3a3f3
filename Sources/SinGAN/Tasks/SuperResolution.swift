import Engine
import Foundation

/// Super-resolution (docs/ALGORITHM.md section 4): a model trained on the low-resolution image with a
/// pyramid factor close to 2^(-1/3), whose finest generator is run repeatedly on ever larger
/// upsamplings of the image.
public enum SuperResolution {
    /// The number of upsampling steps for `factor`: `round(log(factor) / log(2^(1/3)))`, at least 1
    /// (6 for x4, 3 for x2).
    public static func steps(factor: Double) -> Int {
        max(1, Int((log(factor) / log(pow(2, 1.0 / 3))).rounded()))
    }

    /// The training configuration for super-resolution from `base` (a preset): reconstruction
    /// weight 100, min size 18 and the pyramid factor `factor^(-1/steps)`, close to 2^(-1/3), so
    /// that one step of the finest generator matches one step of the pyramid.
    public static func config(from base: TrainingConfig, factor: Double) -> TrainingConfig {
        var c = base
        c.reconstructionWeight = 100
        c.minSize = 18
        c.scaleFactor = pow(factor, -1 / Double(steps(factor: factor)))
        return c
    }

    /// The output size for an image of `size`: exactly `round(factor * size)` per axis.
    public static func outputSize(of size: ImageSize, factor: Double) -> ImageSize {
        ImageSize(height: Int((Double(size.height) * factor).rounded()),
                  width: Int((Double(size.width) * factor).rounded()))
    }

    /// The size after step j of `steps` (1-based): `round(size * factor^(j/steps))`; the last is
    /// `outputSize`.
    public static func size(afterStep j: Int, of steps: Int, from size: ImageSize, factor: Double) -> ImageSize {
        outputSize(of: size, factor: pow(factor, Double(j) / Double(steps)))
    }
}

extension SinGANModel {
    /// Upsamples an [1, 3, h, w] image by `factor` (> 1) in `SuperResolution.steps(factor:)`
    /// steps; each step resizes (bicubic) to the step's size and runs the finest generator on it
    /// with fresh noise scaled by its sigma. The result has exactly `round(factor * size)`.
    /// `stepDone(j, steps)` is called after every step.
    public func superResolve(_ image: Tensor, factor: Double, rng: RandomGenerator,
                             stepDone: (Int, Int) throws -> Void = { _, _ in }) throws -> Tensor {
        guard factor > 1, factor.isFinite else {
            throw SinGANError.invalidConfiguration(parameter: "factor", reason: "must be greater than 1, got \(factor)")
        }
        let start = ImageSize(height: image.shape[2], width: image.shape[3])
        let steps = SuperResolution.steps(factor: factor)
        var current = image
        for j in 1...steps {
            let size = SuperResolution.size(afterStep: j, of: steps, from: start, factor: factor)
            current = refine(try resized(current, to: size), withScale: finest, rng: rng)
            try stepDone(j, steps)
        }
        return current
    }
}
