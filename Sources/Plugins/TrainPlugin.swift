import Foundation
import SinGAN

/// Trains a SinGAN model on the input image (the `model: {train: ...}` of pipelines). The run
/// checkpoints into the context's checkpoint folder and resumes from it after an interruption.
public struct TrainPlugin: TaskPlugin {
    public static let name = "train"
    public static let summary = "Train a SinGAN model on the image."
    public static let parameters = ParameterSchema([
        SinGANTask.presetParameter,
        SinGANTask.iterationsParameter,
        .int("max_size", range: 11...4096, "longer side of the working image in pixels (default: the preset's)"),
        .int("min_size", range: 11...4096, "shorter side of the coarsest scale in pixels (default: the preset's)"),
        .double("scale_factor", range: 0.01...0.99, "initial pyramid factor (default: the preset's, 0.75)"),
        .int("channels", range: 1...1024, "width of scales 0-3; doubles every 4 scales up to max_channels (default: the preset's)"),
        .int("max_channels", range: 1...1024, "upper bound of the width (default: the preset's)"),
        .double("reconstruction_weight", range: 0...1_000_000, "weight alpha of the reconstruction loss (default 10)"),
        .bool("noise_padding", default: false, "draw noise at the padded size (for models meant for animation)"),
        .choice("z_star", ["fixed", "redrawn"], default: "redrawn", "scale 0's reconstruction noise: redrawn every iteration (authors' release, default) or fixed (the paper's text)"),
        .int("seed", default: 0, range: 0...Int(Int32.max), "seed of the training run"),
    ])
    public static let inputs = TaskInputs(image: .required)
    public static let isTraining = true

    public init() {}

    /// Loading the image, then training at the configured working size.
    public static func peakMemory(_ request: TaskRequest, width: Int, height: Int) -> Int {
        let config = (try? config(request.parameters)) ?? SinGANTask.config(request.parameters)
        return MemoryEstimate.decoding(pixels: width * height) + MemoryEstimate.training(config, width: width, height: height)
    }

    /// The training configuration the parameters describe.
    public static func config(_ p: ParameterValues) throws -> TrainingConfig {
        var c = SinGANTask.config(p)
        if let v = p.optionalInt("max_size") { c.maxSize = v }
        if let v = p.optionalInt("min_size") { c.minSize = v }
        if let v = p.optionalDouble("scale_factor") { c.scaleFactor = v }
        if let v = p.optionalInt("channels") { c.baseChannels = v }
        if let v = p.optionalInt("max_channels") { c.maxChannels = v }
        if let v = p.optionalDouble("reconstruction_weight") { c.reconstructionWeight = Float(v) }
        c.noisePadding = p.bool("noise_padding")
        c.zStarMode = ZStarMode(rawValue: p.string("z_star")) ?? .redrawn
        c.seed = UInt64(p.int("seed"))
        do { try c.validate() } catch { throw TaskError(task: name, underlying: error) }
        return c
    }

    public func run(_ request: TaskRequest, context: TaskContext) throws -> [TaskArtifact] {
        guard let image = request.image else { throw TaskError("train needs an input image") }
        let model = try SinGANTask.train(image: image, config: try Self.config(request.parameters), context: context,
                                         checkpointName: "training.singan", task: Self.name)
        let url = context.outputURL(image.deletingPathExtension().lastPathComponent + ".singan")
        try SinGANTask.guarded(Self.name) { try model.save(to: url.path) }
        return [TaskArtifact(url, kind: .model)]
    }
}
