import Foundation
import PatchTier

/// Training-free retargeting: the image at another size or aspect, rebuilt from its own
/// patches so that objects keep their size and local structure instead of being stretched.
public struct RetargetPlugin: TaskPlugin {
    public static let name = "retarget"
    public static let summary = "The image at another size or aspect, rebuilt from its own patches (no training)."
    public static let parameters = ParameterSchema([
        .int("width", range: 1...65_535, "output width in pixels (default: the image's width times scale_h)"),
        .int("height", range: 1...65_535, "output height in pixels (default: the image's height times scale_v)"),
        .double("scale_h", default: 1, range: 0.1...10, "horizontal size factor, when no width is given"),
        .double("scale_v", default: 1, range: 0.1...10, "vertical size factor, when no height is given"),
    ] + PatchTask.commonParameters.map { $0.name == "noise" ? Self.noiseParameter : $0 })
    public static let inputs = TaskInputs(image: .required)

    /// Less noise than sampling: a retarget keeps the image's layout, stretched, and lets the
    /// patches restore local structure.
    static let noiseParameter = Parameter.double("noise", default: 0.1, range: 0...5,
                                                 "grey noise at the first generated level, in pixel values of 0...1")

    public init() {}

    public func run(_ request: TaskRequest, context: TaskContext) throws -> [TaskArtifact] {
        let generator = try PatchTask.generator(request, context: context, task: Self.name)
        let p = request.parameters
        let width = p.optionalInt("width") ?? Int((Double(generator.width) * p.double("scale_h")).rounded())
        let height = p.optionalInt("height") ?? Int((Double(generator.height) * p.double("scale_v")).rounded())
        try PatchTask.guarded(Self.name) { try generator.check(width: width, height: height) }
        let stem = request.image!.deletingPathExtension().lastPathComponent
        return [try PatchTask.generate(generator, width: width, height: height,
                                       seed: PatchTask.seed(base: PatchTask.baseSeed(p), index: 0),
                                       named: "\(stem)_\(width)x\(height).png", task: Self.name, context: context,
                                       part: 0..<1, note: "\(width)x\(height)")]
    }
}
