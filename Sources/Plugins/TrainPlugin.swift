import Foundation
import SinGAN

/// Trains a SinGAN model on the input image (`singan train`, and the `model: {train: ...}` of
/// pipelines). The run checkpoints as the context's `CheckpointPolicy` says: the daemon's jobs
/// into the context's checkpoint folder, resuming from it after an interruption; `singan train`
/// into the model file it writes.
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
        .int("crop_size", range: 0...4096, "scales larger than this train on a random window of this side per iteration; 0: whole images (default: the preset's: paper and quick 0, fast 128)"),
        .double("reconstruction_weight", range: 0...1_000_000, "weight alpha of the reconstruction loss (default 10)"),
        .bool("noise_padding", default: false, "draw noise at the padded size (for models meant for animation; takes z_star fixed unless z_star is given)"),
        .choice("z_star", ["fixed", "redrawn"], "scale 0's reconstruction noise: redrawn every iteration (authors' release; the default) or fixed (the paper's text; the default with noise_padding)"),
        .choice("upsampling", Upsampling.allCases.map(\.rawValue), default: Upsampling.resize.rawValue, "how each scale's output is upsampled to the next scale: resize (straight to the next size, aligned with the pyramid; default) or grow-and-crop (grow by 1/r, crop the top-left window: format 1 models, misaligned by up to a few percent, issue 11)"),
        .int("seed", default: 0, range: 0...Int(Int32.max), "seed of the run's random generator (networks and noise; every preset's is 0)"),
    ])
    public static let inputs = TaskInputs(image: .required)
    public static let isTraining = true

    public init() {}

    /// Loading the image, then training at the configured working size.
    public static func peakMemory(_ request: TaskRequest, width: Int, height: Int) -> Int {
        let config = (try? config(request.parameters)) ?? SinGANTask.config(request.parameters)
        return MemoryEstimate.decoding(pixels: width * height) + MemoryEstimate.training(config, width: width, height: height)
    }

    /// The training configuration the parameters describe: the preset, with every other
    /// parameter applied.
    public static func config(_ p: ParameterValues) throws -> TrainingConfig {
        var c = TrainingConfig.preset(named: p.string("preset")) ?? .paper
        apply(p, to: &c)
        // With noise padding nothing in G_0's input marks the image's borders: G_0 cannot tell
        // where a pixel is, so against a z* redrawn at every iteration its best reconstruction
        // is a flat image (lightning1, `fast`: reconstruction error 0.24 at scale 0 against
        // 0.14-0.19 with zero padding), the finer scales' noise amplitudes follow that error up
        // (2.5-5.1x their floor), and animations, whose coarse scales follow the reconstruction,
        // lose the layout. A fixed z* gives G_0 something to map to the image (0.005).
        if c.noisePadding && p.optionalString("z_star") == nil { c.zStarMode = .fixed }
        do { try c.validate() } catch { throw TaskError(task: name, underlying: error) }
        return c
    }

    /// The parameters of `given` (as given, without defaults) that contradict `c`, the
    /// configuration a checkpoint was started with, in the schema's order, each with the value `c`
    /// holds. `preset` is not compared: a configuration does not record the preset it came from.
    public static func conflicts(_ given: [String: ParameterValue], with c: TrainingConfig) throws
        -> [(parameter: String, checkpointValue: String)] {
        try parameters.parameters.compactMap { p in
            guard p.name != "preset", let raw = given[p.name] else { return nil }
            var changed = c
            apply(ParameterValues([p.name: try p.validate(raw)]), to: &changed)
            return changed == c ? nil : (p.name, value(of: p.name, in: c))
        }
    }

    /// Sets the fields of `c` that the parameters present in `p` describe (all but `preset`,
    /// which chose `c`).
    private static func apply(_ p: ParameterValues, to c: inout TrainingConfig) {
        if let v = p.optionalInt("iterations") { c.setIterations(v) }
        if let v = p.optionalInt("max_size") { c.maxSize = v }
        if let v = p.optionalInt("min_size") { c.minSize = v }
        if let v = p.optionalDouble("scale_factor") { c.scaleFactor = v }
        if let v = p.optionalInt("channels") { c.baseChannels = v }
        if let v = p.optionalInt("max_channels") { c.maxChannels = v }
        if let v = p.optionalInt("crop_size") { c.cropSize = v }
        if let v = p.optionalDouble("reconstruction_weight") { c.reconstructionWeight = Float(v) }
        if case .bool(let v)? = p["noise_padding"] { c.noisePadding = v }
        if let v = p.optionalString("z_star").flatMap(ZStarMode.init(rawValue:)) { c.zStarMode = v }
        if let v = p.optionalString("upsampling").flatMap(Upsampling.init(rawValue:)) { c.upsampling = v }
        if let v = p.optionalInt("seed") { c.seed = UInt64(v) }
    }

    /// What `c` holds for the parameter `name`.
    private static func value(of name: String, in c: TrainingConfig) -> String {
        switch name {
        case "iterations": return "\(c.iterations)"
        case "max_size": return "\(c.maxSize)"
        case "min_size": return "\(c.minSize)"
        case "scale_factor": return "\(c.scaleFactor)"
        case "channels": return "\(c.baseChannels)"
        case "max_channels": return "\(c.maxChannels)"
        case "crop_size": return "\(c.cropSize)"
        case "reconstruction_weight": return "\(c.reconstructionWeight)"
        case "noise_padding": return "\(c.noisePadding)"
        case "z_star": return c.zStarMode.rawValue
        case "upsampling": return c.upsampling.rawValue
        case "seed": return "\(c.seed)"
        default: preconditionFailure("the train parameter '\(name)' sets no configuration field")
        }
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
