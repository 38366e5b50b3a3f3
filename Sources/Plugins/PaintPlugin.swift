import Engine
import Foundation
import SinGAN

/// Paint to image: a clip art or painting injected at a coarse scale becomes an image with the
/// training image's textures. With `quantize`, the paint is mapped to a 5-colour k-means palette
/// of the training image at that scale and that scale's generator is fine-tuned on quantised
/// inputs first (the authors' `quantization_flag`); the fine-tuned model is not stored.
public struct PaintPlugin: TaskPlugin {
    public static let name = "paint"
    public static let summary = "Turn a paint or clip art into an image with the model's textures."
    public static let parameters = ParameterSchema([
        .int("scale", default: 1, "injection scale, 1 (coarse) ... N (the finest scale)"),
        .bool("quantize", default: false, "quantise the paint to 5 colours of the training image and fine-tune that scale on them"),
        SinGANTask.presetParameter,
        SinGANTask.iterationsParameter,
        SinGANTask.seedParameter,
    ])
    public static let inputs = TaskInputs(image: .required, model: .required)

    /// The palette size of quantised paint to image.
    public static let paletteSize = 5

    public init() {}

    /// Quantised paint fine-tunes the injection scale's generator.
    public static let training = TrainingRule.whenTrue(parameter: "quantize")

    public func run(_ request: TaskRequest, context: TaskContext) throws -> [TaskArtifact] {
        guard let paintURL = request.image else { throw TaskError("paint needs a paint image") }
        var model = try SinGANTask.model(request, context: context, task: Self.name)
        let scale = request.parameters.int("scale")
        guard model.finest >= 1, (1...model.finest).contains(scale) else {
            throw TaskError(task: Self.name, "injection scale \(scale) is out of range: this model has \(model.count) scales, so the scale must be in 1...\(model.finest)")
        }
        let paint = try SinGANTask.loadImage(paintURL, role: "paint", task: Self.name, context: context)
        let rng = SinGANTask.rng(request.parameters)
        let output = try SinGANTask.guarded(Self.name) { () throws -> Engine.Tensor in
            var palette: Palette?
            if request.parameters.bool("quantize") {
                let colors = model.palette(atScale: scale, count: Self.paletteSize)
                let config = SinGANTask.config(request.parameters)
                model = try model.fineTuned(
                    atScale: scale, palette: colors, config: config, seed: rng.next(),
                    progress: { done, total in
                        context.report(progress: 0.95 * Double(done) / Double(total),
                                       "fine-tuning scale \(scale) on quantised colours, iteration \(done)/\(total)")
                    },
                    shouldStop: { context.cancellation.isCancelled })
                palette = colors
            }
            let input = try model.injectionInput(paint, atScale: scale, palette: palette)
            return try model.generate(fromInput: input, atScale: scale, rng: rng)
        }
        return [try SinGANTask.writeImage(output, named: paintURL.deletingPathExtension().lastPathComponent + "_painted.png",
                                          context: context)]
    }
}
