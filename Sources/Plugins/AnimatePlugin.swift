import Foundation
import SinGAN
import Vips

/// Animation: a looping GIF or animated WebP from a random walk in the model's noise space.
/// Models trained with noise padding (`singan train --noise-padding`) animate best.
public struct AnimatePlugin: TaskPlugin {
    public static let name = "animate"
    public static let summary = "Write a looping animation (GIF or WebP) from a random walk in noise space."
    public static let parameters = ParameterSchema([
        .int("frames", default: 100, range: 1...1000, "number of frames"),
        .double("fps", default: 10, range: 1...100, "frames per second"),
        .double("alpha", default: 0.1, range: 0...1, "pull towards the reconstruction (0 = free walk, 1 = still)"),
        .double("beta", default: 0.9, range: 0...1, "momentum of the walk"),
        .int("start_scale", default: 2, range: 0...64, "first scale that moves; coarser scales stay fixed"),
        .choice("format", ["gif", "webp"], default: "gif", "animation file format"),
        SinGANTask.seedParameter,
    ])
    public static let inputs = TaskInputs(image: .none, model: .required)

    public init() {}

    public func run(_ request: TaskRequest, context: TaskContext) throws -> [TaskArtifact] {
        let (model, startScale) = try SinGANTask.modelWithStartScale(request, context: context, task: Self.name)
        let p = request.parameters
        let settings = AnimationSettings(alpha: p.double("alpha"), beta: p.double("beta"),
                                         frames: p.int("frames"), startScale: startScale)
        let rng = SinGANTask.rng(p)
        let frames = try SinGANTask.guarded(Self.name) {
            try model.animationFrames(settings, rng: rng) { k, count in
                try context.cancellation.check()
                context.report(progress: 0.9 * Double(k + 1) / Double(count), "scale \(k + 1)/\(count)")
            }
        }
        let url = context.outputURL("animation." + p.string("format"))
        try SinGANTask.guarded(Self.name) {
            try VipsImage.saveAnimation(frames: try frames.map(SinGANTask.vipsImage), fps: p.double("fps"), to: url.path)
        }
        return [TaskArtifact(url, kind: .animation)]
    }
}
