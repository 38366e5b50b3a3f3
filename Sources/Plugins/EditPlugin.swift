import Foundation
import SinGAN

/// Editing: makes a rough edit of the training image look natural; like harmonization with the
/// mask dilated by 20 px, and the unmasked result returned too.
public struct EditPlugin: TaskPlugin {
    public static let name = "edit"
    public static let summary = "Make a rough edit of the model's training image look natural (masked and unmasked results)."
    public static let parameters = MaskedInjectionTask.parameters
    public static let inputs = MaskedInjectionTask.inputs

    public init() {}

    /// Returns the masked result (label "masked") and the unmasked one (label "unmasked").
    public func run(_ request: TaskRequest, context: TaskContext) throws -> [TaskArtifact] {
        let run = try MaskedInjectionTask.run(request, context: context, task: Self.name, dilation: BlendMask.editingRadius)
        return [try SinGANTask.writeImage(run.blended, named: "edit_masked.png", context: context, label: "masked"),
                try SinGANTask.writeImage(run.result, named: "edit_unmasked.png", context: context, label: "unmasked")]
    }
}
