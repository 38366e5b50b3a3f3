import Foundation
import PatchTier

/// Training-free random samples of an image from its own patches (GPNN-class), in seconds: no
/// model, at the image's size or scaled.
public struct PatchSamplePlugin: TaskPlugin {
    public static let name = "patch-sample"
    public static let summary = "Random samples of an image rebuilt from its own patches (no training)."
    public static let parameters = ParameterSchema([
        .int("count", default: 1, range: 1...1000, "number of samples"),
        .double("scale_h", default: 1, range: 0.1...10, "horizontal size factor of the samples"),
        .double("scale_v", default: 1, range: 0.1...10, "vertical size factor of the samples"),
    ] + PatchTask.commonParameters)
    public static let inputs = TaskInputs(image: .required)

    public init() {}

    public func run(_ request: TaskRequest, context: TaskContext) throws -> [TaskArtifact] {
        let generator = try PatchTask.generator(request, context: context, task: Self.name)
        let p = request.parameters
        let width = Int((Double(generator.width) * p.double("scale_h")).rounded())
        let height = Int((Double(generator.height) * p.double("scale_v")).rounded())
        try PatchTask.guarded(Self.name) { try generator.check(width: width, height: height) }
        let count = p.int("count"), base = PatchTask.baseSeed(p)
        return try (0..<count).map { i in
            try context.cancellation.check()
            return try PatchTask.generate(generator, width: width, height: height,
                                          seed: PatchTask.seed(base: base, index: i), named: "patch_sample_\(i).png",
                                          task: Self.name, context: context,
                                          part: Double(i) / Double(count)..<Double(i + 1) / Double(count),
                                          note: "sample \(i + 1)/\(count)")
        }
    }
}
