import Engine
import Foundation
import SinGAN
import Vips

/// The plugin side of harmonization and editing: their parameters and inputs, and a run of
/// `MaskedInjection` from a request (model, `reference` and `mask` side inputs).
enum MaskedInjectionTask {
    /// Loads the model, the `reference` and `mask` side inputs and runs the injection.
    static func run(_ request: TaskRequest, context: TaskContext, task: String, dilation radius: Int) throws -> MaskedInjection {
        let model = try SinGANTask.model(request, context: context, task: task)
        let scale = request.parameters.int("scale")
        guard model.finest >= 1, (1...model.finest).contains(scale) else {
            throw TaskError(task: task, "injection scale \(scale) is out of range: this model has \(model.count) scales, so the scale must be in 1...\(model.finest)")
        }
        let size = model.sizes[model.finest]
        let referenceURL = try SinGANTask.side("reference", of: request, task: task)
        let maskURL = try SinGANTask.side("mask", of: request, task: task)
        let reference = try resized(SinGANTask.loadImage(referenceURL, role: "reference", task: task, context: context), to: size)
        let binary: [Bool]
        do { binary = try BlendMask.binaryMask(fileAt: maskURL, size: size, maxPixels: context.maxPixels) } catch {
            throw TaskError(task: task, underlying: error)
        }
        try context.cancellation.check()
        let mask = BlendMask(binary: binary, width: size.width, height: size.height, radius: radius)
        let rng = SinGANTask.rng(request.parameters)
        return try SinGANTask.guarded(task) {
            try MaskedInjection(model: model, reference: reference, mask: mask, atScale: scale, rng: rng)
        }
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

extension BlendMask {
    /// A mask file as a binary mask of `size` (see `binaryMask(_:size:)`). Accepts grey, grey +
    /// alpha, RGB and RGBA images.
    public static func binaryMask(fileAt url: URL, size: ImageSize, maxPixels: Int) throws -> [Bool] {
        let image: VipsImage
        do { image = try VipsImage.load(path: url.path, maxPixels: maxPixels) } catch {
            throw TaskError(context: "mask \(url.lastPathComponent)", underlying: error)
        }
        guard (1...4).contains(image.bands) else {
            throw TaskError("mask \(url.lastPathComponent) has \(image.bands) bands; a mask must be grey (1 band), grey with alpha (2), RGB (3) or RGBA (4)")
        }
        do {
            return try binaryMask(image, size: size)
        } catch {
            throw TaskError(context: "mask \(url.lastPathComponent)", underlying: error)
        }
    }
}
