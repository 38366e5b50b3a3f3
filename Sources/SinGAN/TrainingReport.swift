import Engine

/// The losses of one training iteration (the last critic and generator step of it).
public struct TrainingLosses: Codable, Equatable, Sendable {
    /// L_D = -mean(D(real)) + mean(D(fake)) + gradient penalty.
    public var critic: Float
    /// The adversarial part of L_G: -mean(D(fake)).
    public var generator: Float
    /// mean((G(rec) - real)^2), the reconstruction error (before the weight alpha).
    public var reconstruction: Float

    public init(critic: Float, generator: Float, reconstruction: Float) {
        self.critic = critic
        self.generator = generator
        self.reconstruction = reconstruction
    }
}

/// What the report says about one finished scale.
public struct ScaleReport: Codable, Equatable, Sendable {
    public var scale: Int
    public var size: ImageSize
    /// Width of the scale's networks.
    public var channels: Int
    /// sigma_n.
    public var noiseAmplitude: Float
    /// The lowest sigma_n can be, `0.1 x RMSE(resize(real_{n-1}, size_n), real_n)`
    /// (`ImagePyramid.noiseFloor`); nil at scale 0. A well-trained, aligned pyramid keeps sigma_n
    /// within about 2x of it.
    public var noiseFloor: Float?
    public var iterations: Int
    /// Wall-clock seconds spent training this scale (summed over resumed runs).
    public var seconds: Double
    /// The losses of the scale's last iteration.
    public var finalLosses: TrainingLosses
}

/// Timings and losses of a run, carried in checkpoints so a resumed run reports them all.
public struct TrainingLog: Codable, Equatable, Sendable {
    /// Finished scales.
    public var scales: [ScaleReport] = []
    /// Seconds already spent on the scale in training.
    public var currentScaleSeconds: Double = 0
    public init() {}
}

/// The `--report` JSON of `singan train`.
public struct TrainingReport: Codable, Sendable {
    public var image: String
    public var model: String
    public var inputSize: ImageSize
    public var config: TrainingConfig
    public var scales: [ScaleReport]
    public var totalSeconds: Double
    /// Whether this run continued an interrupted one.
    public var resumed: Bool

    public init(image: String, model: String, inputSize: ImageSize, config: TrainingConfig,
                scales: [ScaleReport], totalSeconds: Double, resumed: Bool) {
        self.image = image
        self.model = model
        self.inputSize = inputSize
        self.config = config
        self.scales = scales
        self.totalSeconds = totalSeconds
        self.resumed = resumed
    }
}

/// A snapshot of a run in progress, handed to the trainer's progress callback after every
/// iteration.
public struct TrainingProgress: Sendable {
    /// The scale in training (0-based) and the number of scales.
    public var scale: Int
    public var scaleCount: Int
    /// Iterations done at this scale, of `iterations`.
    public var iteration: Int
    public var iterations: Int
    /// Measured speed at this scale in this process.
    public var iterationsPerSecond: Double
    /// Estimated seconds left for this scale, and for the whole run (later scales estimated
    /// from this scale's speed, scaled by their cost).
    public var scaleSecondsLeft: Double
    public var totalSecondsLeft: Double
    /// The last iteration's losses.
    public var losses: TrainingLosses
    /// sigma of this scale.
    public var noiseAmplitude: Float
    /// The lowest sigma this scale can have (see `ScaleReport.noiseFloor`); nil at scale 0.
    public var noiseFloor: Float?
}
