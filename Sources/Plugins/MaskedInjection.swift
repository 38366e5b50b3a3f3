import Foundation
import PyramidModel
import Vips

/// What harmonization and editing share: inject a reference image at a scale, then keep the
/// model's result only inside the dilated, blurred mask (SINGAN.md section 4).
struct MaskedInjection {
    /// The training image at the finest scale.
    let original: Tensor
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
        let reference = try SinGANTask.fit(SinGANTask.loadImage(referenceURL, role: "\(task): reference", context: context), to: size)
        let binary = try Self.loadMask(maskURL, size: size, context: context, task: task)
        try context.cancellation.check()
        let mask = BlendMask(binary: binary, width: size.width, height: size.height, radius: radius)
        let rng = SinGANTask.rng(request.parameters)
        original = model.scales[model.finest].real
        result = try SinGANTask.guarded(task) {
            try model.generate(fromInput: try model.injectionInput(reference, atScale: scale), atScale: scale, rng: rng)
        }
        blended = Tensor(shape: original.shape, scalars: mask.blend(original: original.scalars, result: result.scalars, channels: 3))
    }

    /// A mask file as a binary mask of `size` (resized first if needed): a pixel is set when the
    /// mean of its colour bands is above half (white = edited). Alpha is flattened onto white.
    /// Accepts grey, grey + alpha, RGB and RGBA images.
    static func loadMask(_ url: URL, size: ImageSize, context: TaskContext, task: String) throws -> [Bool] {
        let image: VipsImage
        do { image = try VipsImage.load(path: url.path, maxPixels: context.maxPixels) } catch {
            throw TaskError("\(task): mask \(url.lastPathComponent): \(error)")
        }
        guard (1...4).contains(image.bands) else {
            throw TaskError("\(task): mask \(url.lastPathComponent) has \(image.bands) bands; a mask must be grey (1 band), grey with alpha (2), RGB (3) or RGBA (4)")
        }
        do {
            var rgb = try image.normalizedSRGB()
            if rgb.width != size.width || rgb.height != size.height {
                rgb = try rgb.resized(width: size.width, height: size.height)
            }
            let values = try rgb.planarFloats()
            let plane = size.width * size.height
            return (0..<plane).map { i in values[i] + values[plane + i] + values[2 * plane + i] > 0 }
        } catch {
            throw TaskError("\(task): mask \(url.lastPathComponent): \(error)")
        }
    }

    /// The side inputs of both tasks.
    static let sideInputs = [
        SideInput("reference", "the training image with the object pasted or the edit made, naively"),
        SideInput("mask", "white where the reference differs from the training image, black elsewhere"),
    ]
}
