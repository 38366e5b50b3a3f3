import Engine

/// How scale 0's reconstruction noise z* is chosen during training (docs/ALGORITHM.md section 3).
///
/// The paper fixes one z*; the authors' release draws a new one at every iteration of scale 0
/// and keeps the last. Both reconstruct the image; they differ only in what scale 0 learns to
/// map z* to. Every preset uses `.redrawn`: the paper's figures came from the release, and at
/// equal settings it gives lower patch SWD ratios and the release's narrower variety of layouts
/// (BENCHMARKS.md, "Fidelity"). With `noisePadding` only `.fixed` reconstructs: G_0's input then
/// has no border to place anything by, and against a redrawn z* its reconstruction is flat
/// (docs/FAST-PRESET.md, "Noise padding"), so the train task takes `.fixed` with noise padding
/// unless told otherwise.
public enum ZStarMode: String, Codable, Sendable, CaseIterable {
    /// One z* drawn when scale 0 starts, used for every iteration (the paper's text).
    case fixed
    /// A new z* drawn at every iteration of scale 0; the last one is kept (the authors' release).
    /// The default.
    case redrawn
}

/// Iterations of a scale, and critic and generator steps per iteration.
public struct StepSchedule: Codable, Equatable, Sendable {
    public var iterations: Int
    public var criticSteps: Int
    public var generatorSteps: Int

    public init(iterations: Int, criticSteps: Int, generatorSteps: Int) {
        self.iterations = iterations
        self.criticSteps = criticSteps
        self.generatorSteps = generatorSteps
    }
}

/// Every number that shapes a SinGAN training run. Stored in the model file's metadata, so a
/// model always says how it was made. Defaults are the published ones (`TrainingConfig.paper`).
public struct TrainingConfig: Codable, Equatable, Sendable {
    // Pyramid (docs/ALGORITHM.md section 1).
    /// The working image's longer side is at most this many pixels.
    public var maxSize: Int = 250
    /// The coarsest scale's shorter side, in pixels.
    public var minSize: Int = 25
    /// The initial pyramid factor; the real factor r is derived from it (see `PyramidGeometry`).
    public var scaleFactor: Double = 0.75

    // Networks (section 2).
    /// Width of scales 0-3; doubles every 4 scales up to `maxChannels`.
    public var baseChannels: Int = 32
    /// Upper bound of the width.
    public var maxChannels: Int = 128

    // Optimisation (section 3).
    /// Iterations per scale.
    public var iterations: Int = 2000
    /// Adam learning rate of the generator and of the critic.
    public var learningRate: Float = 5e-4
    /// Adam's beta1, beta2.
    public var beta1: Float = 0.5
    public var beta2: Float = 0.999
    /// The learning rates are multiplied by `learningRateDecay` once `learningRateDropAt` of a
    /// scale's iterations are done (1600 of 2000 in the paper).
    public var learningRateDropAt: Double = 0.8
    public var learningRateDecay: Float = 0.1
    /// Critic and generator steps per iteration.
    public var criticSteps: Int = 3
    public var generatorSteps: Int = 3
    /// WGAN-GP weight (lambda).
    public var gradientPenaltyWeight: Float = 0.1
    /// Reconstruction loss weight (alpha); 100 for super-resolution models.
    public var reconstructionWeight: Float = 10
    /// sigma_n = noiseAmplitudeFactor * RMSE(reals[n], rec(n)).
    public var noiseAmplitudeFactor: Float = 0.1

    // Choices the authors' release leaves open (issue 4, item 5).
    /// Fixed or redrawn z* at scale 0. Default: redrawn (the release, which made the paper's figures).
    public var zStarMode: ZStarMode = .redrawn
    /// Noise drawn at the padded size instead of zero-padded (for animation models).
    public var noisePadding: Bool = false
    /// How each scale's output is upsampled to the next scale. Default: a straight resize,
    /// aligned with the pyramid (issue 11); models of format 1 used `.growAndCrop`.
    public var upsampling: Upsampling = .resize

    // Speed (the `fast` preset; the defaults are the paper's algorithm).
    /// Scales larger than this train on a random `cropSize` x `cropSize` window per iteration
    /// instead of the whole image. 0: always the whole image.
    public var cropSize: Int = 0
    /// rand(n), the coarser scales' output on fresh noise, is drawn from a bank of this many
    /// made when the scale starts instead of anew at every critic step. 0: always anew.
    public var randomInputBank: Int = 0
    /// Whether the scales that follow `coarseSchedule` take rand(n) from the bank too. false:
    /// they draw it anew at every critic step, as the paper does. They set the layout, and a
    /// bank of 16 shows their generators only 16 coarser layouts (birds: patch SWD 0.065 with
    /// the bank, 0.052 without, same seed); their rand(n) passes are a few tiny generators.
    public var coarseRandomInputBank: Bool = true
    /// The gradient penalty is applied at every `penaltyInterval`-th critic step, with its
    /// weight multiplied by the interval (a lazy penalty). 1: at every step.
    public var penaltyInterval: Int = 1
    /// Scales whose longer side is at most `coarseSide` pixels, and (when `coarseScales` is
    /// not 0) which are among the `coarseScales` coarsest, follow `coarseSchedule` instead of
    /// `iterations`, `criticSteps` and `generatorSteps`. 0 or nil: no such scales.
    public var coarseSide: Int = 0
    /// At most this many of the coarsest scales follow `coarseSchedule`; 0: no limit. A square
    /// image has more scales below `coarseSide` than a 4:3 one (tree.png: six of 11 at 250 px,
    /// balloons.png: four of 9), and each costs `coarseSchedule.iterations` iterations.
    public var coarseScales: Int = 0
    public var coarseSchedule: StepSchedule? = nil
    /// When a scale trained on windows (`cropSize`) ends, its generator's BatchNorm running
    /// statistics, which a finished generator samples with, are recomputed as the average over
    /// this many passes on the whole image (rand(n) plus fresh noise), because training leaves
    /// them an average of the last few windows' statistics. 0: kept as training left them.
    public var normalizationPasses: Int = 0

    // Run.
    /// Seed of the random generator that initialises the networks and draws every noise map.
    public var seed: UInt64 = 0
    /// A checkpoint is written after every this many iterations (and after every scale).
    public var checkpointInterval: Int = 100

    public init() {}

    /// Reads a configuration from a model file's metadata. Fields added after the first model
    /// format may be absent from older files: they take the value that reproduces how those
    /// files were trained (`upsampling`: `.growAndCrop`).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maxSize = try c.decode(Int.self, forKey: .maxSize)
        minSize = try c.decode(Int.self, forKey: .minSize)
        scaleFactor = try c.decode(Double.self, forKey: .scaleFactor)
        baseChannels = try c.decode(Int.self, forKey: .baseChannels)
        maxChannels = try c.decode(Int.self, forKey: .maxChannels)
        iterations = try c.decode(Int.self, forKey: .iterations)
        learningRate = try c.decode(Float.self, forKey: .learningRate)
        beta1 = try c.decode(Float.self, forKey: .beta1)
        beta2 = try c.decode(Float.self, forKey: .beta2)
        learningRateDropAt = try c.decode(Double.self, forKey: .learningRateDropAt)
        learningRateDecay = try c.decode(Float.self, forKey: .learningRateDecay)
        criticSteps = try c.decode(Int.self, forKey: .criticSteps)
        generatorSteps = try c.decode(Int.self, forKey: .generatorSteps)
        gradientPenaltyWeight = try c.decode(Float.self, forKey: .gradientPenaltyWeight)
        reconstructionWeight = try c.decode(Float.self, forKey: .reconstructionWeight)
        noiseAmplitudeFactor = try c.decode(Float.self, forKey: .noiseAmplitudeFactor)
        zStarMode = try c.decode(ZStarMode.self, forKey: .zStarMode)
        noisePadding = try c.decode(Bool.self, forKey: .noisePadding)
        upsampling = try c.decodeIfPresent(Upsampling.self, forKey: .upsampling) ?? .growAndCrop
        cropSize = try c.decodeIfPresent(Int.self, forKey: .cropSize) ?? 0
        randomInputBank = try c.decodeIfPresent(Int.self, forKey: .randomInputBank) ?? 0
        coarseRandomInputBank = try c.decodeIfPresent(Bool.self, forKey: .coarseRandomInputBank) ?? true
        penaltyInterval = try c.decodeIfPresent(Int.self, forKey: .penaltyInterval) ?? 1
        coarseSide = try c.decodeIfPresent(Int.self, forKey: .coarseSide) ?? 0
        coarseScales = try c.decodeIfPresent(Int.self, forKey: .coarseScales) ?? 0
        coarseSchedule = try c.decodeIfPresent(StepSchedule.self, forKey: .coarseSchedule)
        normalizationPasses = try c.decodeIfPresent(Int.self, forKey: .normalizationPasses) ?? 0
        seed = try c.decode(UInt64.self, forKey: .seed)
        checkpointInterval = try c.decode(Int.self, forKey: .checkpointInterval)
    }

    /// The published defaults: max size 250, min size 25, factor 0.75, 2000 iterations per scale.
    public static let paper = TrainingConfig()

    /// For demos and tests: a 64 px working image, min size 20 (at most 6 scales), width 32 at
    /// every scale, 150 iterations per scale; everything else as `paper`. Chosen so that any image
    /// trains in about 2 minutes on 2 cores with this engine (see the measurements in the report of
    /// issue 4); the paper preset's cost is dominated by its 64- and 128-channel fine scales.
    public static var quick: TrainingConfig {
        var c = TrainingConfig()
        c.maxSize = 64
        c.minSize = 20
        c.maxChannels = 32
        c.iterations = 150
        return c
    }

    /// Full size (250 px, min 25, factor 0.75, as `paper`) in minutes instead of hours. What
    /// differs from the paper, and why (docs/FAST-PRESET.md has the measurements):
    /// - width 32 at every scale (64 at the finer scales costs about 3x the time per iteration,
    ///   182-195 ms against 52-62 ms on a 64 px window; on balloons its patch SWD, 0.16 and 0.20
    ///   with two seeds, did not separate from 32's 0.19);
    /// - the four coarsest scales, if their longer side is at most 80 px (they set the layout),
    ///   train 2000 iterations of 1 critic and 1 generator step; the finer scales 600
    ///   iterations of 1 + 1 steps;
    /// - scales larger than 128 px train on random 128 x 128 windows (the critic only ever
    ///   judges 11 x 11 patches; the generator is fully convolutional). Not smaller: BatchNorm
    ///   normalises each window by its own statistics, in both networks, so a window much
    ///   smaller than the image trains networks that make flat, low-contrast samples (cows:
    ///   patch SWD 0.113 with 64 px windows, 0.081 with 96, 0.046 with 128);
    /// - at the end of a scale trained on windows, the generator's BatchNorm statistics are
    ///   recomputed on 16 whole images (`normalizationPasses`);
    /// - at the finer scales rand(n) comes from a bank of 16 drawn when a scale starts (drawing
    ///   it anew costs a pass through every coarser scale at every critic step); the coarse
    ///   scales, which set the layout and are cheap, draw it anew;
    /// - the gradient penalty at every second critic step, with twice the weight.
    public static var fast: TrainingConfig {
        var c = TrainingConfig()
        c.maxChannels = 32
        c.iterations = 600
        c.criticSteps = 1
        c.generatorSteps = 1
        c.coarseSide = 80
        c.coarseScales = 4
        c.coarseSchedule = StepSchedule(iterations: 2000, criticSteps: 1, generatorSteps: 1)
        c.cropSize = 128
        c.randomInputBank = 16
        c.coarseRandomInputBank = false
        c.penaltyInterval = 2
        c.normalizationPasses = 16
        return c
    }

    /// The named presets, for the command line and pipelines, in the order they are listed.
    public static let presets: [(name: String, config: TrainingConfig)] = [("paper", .paper), ("fast", .fast), ("quick", .quick)]

    /// The presets' names.
    public static var presetNames: [String] { presets.map(\.name) }

    /// The preset called `name`, if there is one.
    public static func preset(named name: String) -> TrainingConfig? {
        presets.first { $0.name == name }?.config
    }

    /// The width (channels) of scale n: `min(base * 2^floor(n/4), max)`.
    public func channels(atScale n: Int) -> Int {
        min(baseChannels << min(n / 4, 16), maxChannels)
    }

    /// Sets the iterations per scale to `n` (the `--iters` option). A coarse schedule keeps its
    /// proportion to the main one (the `fast` preset's 2000 : 600 becomes 333 : 100 with 100),
    /// so the preset's shape survives a shorter or longer run.
    public mutating func setIterations(_ n: Int) {
        if var coarse = coarseSchedule {
            coarse.iterations = max(1, Int((Double(coarse.iterations) * Double(n) / Double(iterations)).rounded()))
            coarseSchedule = coarse
        }
        iterations = n
    }

    /// Iterations and steps of scale `n` (0 is the coarsest), of `size`: `coarseSchedule` if its
    /// longer side is at most `coarseSide` and `n` is below `coarseScales` (when set), else the
    /// main numbers.
    public func schedule(forScale n: Int, of size: ImageSize) -> StepSchedule {
        if let coarseSchedule, followsCoarseSchedule(scale: n, of: size) { return coarseSchedule }
        return StepSchedule(iterations: iterations, criticSteps: criticSteps, generatorSteps: generatorSteps)
    }

    /// Whether scale `n` of `size` follows `coarseSchedule` (see `schedule(forScale:of:)`).
    public func followsCoarseSchedule(scale n: Int, of size: ImageSize) -> Bool {
        coarseSchedule != nil && max(size.height, size.width) <= coarseSide && (coarseScales == 0 || n < coarseScales)
    }

    /// How many draws of rand(n) scale `n` of `size` keeps in its bank: `randomInputBank`, or 0
    /// (drawn anew at every critic step) at scale 0, which has no coarser scales, and at the
    /// coarse schedule's scales unless `coarseRandomInputBank`.
    public func randomInputBankSize(atScale n: Int, of size: ImageSize) -> Int {
        if n == 0 || (!coarseRandomInputBank && followsCoarseSchedule(scale: n, of: size)) { return 0 }
        return randomInputBank
    }

    /// The learning rate of iteration `iteration` of a scale trained `iterations` iterations:
    /// `learningRate`, multiplied by `learningRateDecay` from `learningRateDropAt` of the way on.
    public func learningRate(atIteration iteration: Int, of iterations: Int) -> Float {
        let drop = Int((Double(iterations) * learningRateDropAt).rounded())
        return iteration >= drop ? learningRate * learningRateDecay : learningRate
    }

    /// Checks that every number is in its domain; the error names the parameter.
    public func validate() throws {
        func bad(_ name: String, _ reason: String) -> SinGANError {
            .invalidConfiguration(parameter: name, reason: reason)
        }
        if minSize < 11 { throw bad("min-size", "must be at least 11 (the networks' receptive field), got \(minSize)") }
        if maxSize < minSize { throw bad("max-size", "must be at least min-size (\(minSize)), got \(maxSize)") }
        if !(scaleFactor > 0 && scaleFactor < 1) { throw bad("scale-factor", "must be in (0, 1), got \(scaleFactor)") }
        if iterations < 1 { throw bad("iters", "must be at least 1, got \(iterations)") }
        if baseChannels < 1 || maxChannels < baseChannels {
            throw bad("channels", "base \(baseChannels) and max \(maxChannels) must satisfy 1 <= base <= max")
        }
        if !(learningRate > 0) { throw bad("learning-rate", "must be positive, got \(learningRate)") }
        if !(0..<1).contains(beta1) || !(0..<1).contains(beta2) { throw bad("betas", "must be in [0, 1)") }
        if !(0...1).contains(learningRateDropAt) { throw bad("lr-drop-at", "must be in [0, 1], got \(learningRateDropAt)") }
        if criticSteps < 1 || generatorSteps < 1 { throw bad("steps", "critic and generator steps must be at least 1") }
        if let s = coarseSchedule, s.iterations < 1 || s.criticSteps < 1 || s.generatorSteps < 1 {
            throw bad("coarse-schedule", "iterations and steps must be at least 1")
        }
        if cropSize != 0 && cropSize < 2 * networkPadding + 1 {
            throw bad("crop-size", "must be 0 (whole image) or at least \(2 * networkPadding + 1), got \(cropSize)")
        }
        if coarseScales < 0 { throw bad("coarse-scales", "must be at least 0, got \(coarseScales)") }
        if randomInputBank < 0 { throw bad("random-input-bank", "must be at least 0, got \(randomInputBank)") }
        if normalizationPasses < 0 { throw bad("normalization-passes", "must be at least 0, got \(normalizationPasses)") }
        if penaltyInterval < 1 { throw bad("penalty-interval", "must be at least 1, got \(penaltyInterval)") }
        if checkpointInterval < 1 { throw bad("checkpoint-interval", "must be at least 1, got \(checkpointInterval)") }
    }
}
