import Foundation
import SinGAN

/// Super-resolution from a low-resolution image alone: a model is trained on the image with
/// reconstruction weight 100 and a pyramid factor close to 2^(-1/3) (unless one is given), then
/// the image is upsampled in steps, each refined by the finest generator.
public struct SuperResolutionPlugin: TaskPlugin {
    public static let name = "superres"
    public static let summary = "Upscale an image by any factor > 1 with a model of its own patches."
    public static let parameters = ParameterSchema([
        .double("factor", default: 4, range: 1...16, "upscaling factor, greater than 1; the output is round(factor x size)"),
        SinGANTask.presetParameter,
        SinGANTask.iterationsParameter,
        SinGANTask.seedParameter,
    ])
    public static let inputs = TaskInputs(image: .required, model: .optional)

    public init() {}

    /// Without a model, the task first trains one on its image.
    public static let training = TrainingRule.withoutModel

    /// Training (without a model) at the working size, then the finest generator over every
    /// step up to the output: the last step, at the output's size, is the peak.
    public static func peakMemory(_ request: TaskRequest, width: Int, height: Int) -> Int {
        let factor = request.parameters.double("factor")
        let config = SuperResolution.config(from: SinGANTask.config(request.parameters), factor: factor)
        let output = SuperResolution.outputSize(of: ImageSize(height: height, width: width), factor: max(1, factor))
        let training = request.model == nil ? MemoryEstimate.training(config, width: width, height: height) : 0
        let upsampling = MemoryEstimate.generator(pixels: output.width * output.height, channels: config.maxChannels)
            + MemoryEstimate.decoding(pixels: output.width * output.height)
        return MemoryEstimate.decoding(pixels: width * height) + max(training, upsampling)
    }

    public func run(_ request: TaskRequest, context: TaskContext) throws -> [TaskArtifact] {
        guard let imageURL = request.image else { throw TaskError("superres needs an input image") }
        let factor = request.parameters.double("factor")
        guard factor > 1 else { throw TaskError(task: Self.name, "parameter 'factor' must be greater than 1, got \(factor)") }
        let image = try SinGANTask.loadImage(imageURL, role: "image", task: Self.name, context: context)
        let target = SuperResolution.outputSize(of: ImageSize(height: image.shape[2], width: image.shape[3]), factor: factor)
        guard target.width * target.height <= context.maxPixels else {
            throw TaskError(task: Self.name, "the result \(target) would exceed the limit of \(context.maxPixels) pixels")
        }
        let model: SinGANModel
        if request.model != nil {
            model = try SinGANTask.model(request, context: context, task: Self.name)
        } else {
            var config = SuperResolution.config(from: SinGANTask.config(request.parameters), factor: factor)
            config.seed = UInt64(request.parameters.optionalInt("seed") ?? 0)
            model = try SinGANTask.train(image: imageURL, config: config, context: context,
                                         checkpointName: "superres.singan", task: Self.name)
        }
        let rng = SinGANTask.rng(request.parameters)
        let output = try SinGANTask.guarded(Self.name) {
            try model.superResolve(image, factor: factor, rng: rng) { step, steps in
                try context.cancellation.check()
                context.report(progress: Double(step) / Double(steps), "upsampling step \(step)/\(steps)")
            }
        }
        let stem = imageURL.deletingPathExtension().lastPathComponent
        return [try SinGANTask.writeImage(output, named: "\(stem)_superres.png", context: context)]
    }
}
