import Foundation
import SinGAN

/// Harmonization: blends a naively pasted object into the training image's look by injecting the
/// naive paste at a scale and keeping the result inside the mask (dilated by 7 px).
public struct HarmonizePlugin: TaskPlugin {
    public static let name = "harmonize"
    public static let summary = "Blend a naively pasted object into the model's training image."
    public static let parameters = MaskedInjectionTask.parameters
    public static let inputs = MaskedInjectionTask.inputs

    public init() {}

    public func run(_ request: TaskRequest, context: TaskContext) throws -> [TaskArtifact] {
        let run = try MaskedInjectionTask.run(request, context: context, task: Self.name, dilation: BlendMask.harmonizationRadius)
        return [try SinGANTask.writeImage(run.blended, named: "harmonized.png", context: context)]
    }
}
