import Foundation
import SinGAN

/// Random samples of a model, of the training image's shape or stretched.
public struct SamplePlugin: TaskPlugin {
    public static let name = "sample"
    public static let summary = "Draw random samples from a model."
    public static let parameters = ParameterSchema([
        .int("count", default: 1, range: 1...1000, "number of samples"),
        .int("start_scale", default: 0, range: 0...64, "scales below this one reproduce the training image's layout"),
        .double("scale_h", default: 1, range: 0.1...10, "horizontal size factor of the samples"),
        .double("scale_v", default: 1, range: 0.1...10, "vertical size factor of the samples"),
        SinGANTask.seedParameter,
    ])
    public static let inputs = TaskInputs(image: .none, model: .required)

    public init() {}

    public func run(_ request: TaskRequest, context: TaskContext) throws -> [TaskArtifact] {
        let (model, startScale) = try SinGANTask.modelWithStartScale(request, context: context, task: Self.name)
        let p = request.parameters
        let count = p.int("count")
        let rng = SinGANTask.rng(p)
        var artifacts: [TaskArtifact] = []
        for i in 0..<count {
            try context.cancellation.check()
            let sample = try SinGANTask.guarded(Self.name) {
                try model.sample(startScale: startScale, scaleH: p.double("scale_h"), scaleV: p.double("scale_v"), rng: rng)
            }
            artifacts.append(try SinGANTask.writeImage(sample, named: "sample_\(i).png", context: context))
            context.report(progress: Double(i + 1) / Double(count), "sample \(i + 1)/\(count)")
        }
        return artifacts
    }
}
