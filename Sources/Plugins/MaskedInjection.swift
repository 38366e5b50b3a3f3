import Foundation
import PyramidModel

/// What harmonization and editing share: inject a reference image at a scale, then keep the
/// model's result only inside the dilated, blurred mask (SINGAN.md section 4).
struct MaskedInjection {
    /// G_n ... G_N applied to the injected reference (the unmasked result).
    let result: Tensor
    /// `(1 - mask) * original + mask * result`.
    let blended: Tensor

    /// Loads the model, the `reference` and `mask` side inputs and runs the injection.
    init(_ request: TaskRequest, context: TaskContext, task: String, dilation radius: Int) throws {
        let model = try SinGANTask.model(request, context: context, task: task)
        let scale = request.parameters.int("scale")
        guard model.finest >= 1, (1...model.finest).contains(scale) else {
            throw TaskError("\(task): injection scale \(scale) is out of range: this model has \(model.count) scales, so the scale must be in 1...\(model.finest)")
        }
        let size = model.sizes[model.finest]
        let referenceURL = try SinGANTask.side("reference", of: request, task: task)
        let maskURL = try SinGANTask.side("mask", of: request, task: task)
        let reference = try resized(SinGANTask.loadImage(referenceURL, role: "\(task): reference", context: context), to: size)
        let binary: [Bool]
        do { binary = try BlendMask.binaryMask(fileAt: maskURL, size: size, maxPixels: context.maxPixels) } catch {
            throw TaskError("\(task): \(error)")
        }
        try context.cancellation.check()
        let mask = BlendMask(binary: binary, width: size.width, height: size.height, radius: radius)
        let rng = SinGANTask.rng(request.parameters)
        let original = model.scales[model.finest].real
        result = try SinGANTask.guarded(task) {
            try model.generate(fromInput: try model.injectionInput(reference, atScale: scale), atScale: scale, rng: rng)
        }
        blended = Tensor(shape: original.shape, scalars: mask.blend(original: original.scalars, result: result.scalars, channels: 3))
    }

    /// The parameters of both tasks.
    static let parameters = ParameterSchema([
        .int("scale", required: true, "injection scale, 1 (coarse) ... N (the finest scale)"),
        SinGANTask.seedParameter,
    ])

    /// The inputs of both tasks: a model and the `reference` and `mask` side inputs.
    static let inputs = TaskInputs(image: .none, model: .required, sideInputs: [
        SideInput("reference", "the training image with the object pasted or the edit made, naively"),
        SideInput("mask", "white where the reference differs from the training image, black elsewhere"),
    ])
}
