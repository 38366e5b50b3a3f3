import Foundation
import Vips

/// Resizes an image with libvips: by a factor, then down to fit a longest side if one is given.
/// A useful step before training (SinGAN trains at a longest side of about 250 pixels).
public struct ResizePlugin: TaskPlugin {
    public static let name = "resize"
    public static let summary = "Resize an image by a factor and/or to fit a longest side (bicubic, antialiased)."
    public static let parameters = ParameterSchema([
        .double("factor", default: 1, range: 0.01...16, "scale both sides by this factor"),
        .int("max_side", default: 0, range: 0...65_536, "then shrink to fit this longest side in pixels (0 = no limit)"),
    ])
    public static let inputs = TaskInputs(image: .required)

    public init() {}

    /// The input and the result (at most `factor`² times as many pixels) decoded at once.
    public static func peakMemory(_ request: TaskRequest, width: Int, height: Int) -> Int {
        let factor = request.parameters.double("factor")
        return MemoryEstimate.decoding(pixels: width * height) + MemoryEstimate.decoding(pixels: Int(Double(width * height) * factor * factor))
    }

    public func run(_ request: TaskRequest, context: TaskContext) throws -> [TaskArtifact] {
        guard let input = request.image else { throw TaskError("resize needs an input image") }
        let factor = request.parameters.double("factor")
        let maxSide = request.parameters.int("max_side")
        let image = try VipsImage.load(path: input.path, maxPixels: context.maxPixels)
        var width = pyramidSize(image.width, factor: factor)
        var height = pyramidSize(image.height, factor: factor)
        if maxSide > 0, max(width, height) > maxSide {
            let fit = Double(maxSide) / Double(max(width, height))
            width = min(maxSide, max(1, Int((Double(width) * fit).rounded())))
            height = min(maxSide, max(1, Int((Double(height) * fit).rounded())))
        }
        guard width * height <= context.maxPixels else {
            throw TaskError(task: Self.name, "the result \(width)x\(height) would exceed the limit of \(context.maxPixels) pixels")
        }
        try context.cancellation.check()
        let output = context.outputURL(input.deletingPathExtension().lastPathComponent + ".png")
        try image.resized(width: width, height: height).save(to: output.path)
        return [TaskArtifact(output)]
    }
}
