import Engine

/// One SinGAN training iteration at a single scale, timed by `singan bench`: the product's own
/// `TrainingStep` with the paper's settings (3 critic steps with the WGAN-GP penalty, double
/// backward; 3 generator steps with adversarial and reconstruction losses; Adam), on the
/// problem `tools/torch_reference_bench.py` times: the frozen coarser scales are stood in
/// for by uniform random images, and sigma is 0.1.
public final class TrainingBench {
    public let height: Int, width: Int
    let step: TrainingStep
    let rng: RandomGenerator
    private var iterationCount = 0

    /// A bench at one scale of `height` x `width` pixels and `channels` channels; `config`
    /// gives the steps, penalty interval and window (default: the paper's).
    public init(height: Int, width: Int, channels: Int, config: TrainingConfig = .paper, seed: UInt64 = 0) {
        self.height = height
        self.width = width
        let rng = RandomGenerator(seed: seed)
        self.rng = rng
        let generator = Generator(channels: channels, rng: rng)
        let critic = Critic(channels: channels, rng: rng)
        let betas = (config.beta1, config.beta2)
        step = TrainingStep(
            scale: 1, generator: generator, critic: critic,
            generatorOptimizer: Adam(parameters: generator.parameters, lr: config.learningRate, betas: betas),
            criticOptimizer: Adam(parameters: critic.parameters, lr: config.learningRate, betas: betas),
            sigma: 0.1, real: rng.uniform(shape: [1, 3, height, width], low: -1, high: 1),
            reconstructionInput: rng.uniform(shape: [1, 3, height, width], low: -1, high: 1),
            config: config, rng: rng)
    }

    /// Runs one iteration; returns its last critic and generator losses.
    @discardableResult
    public func iteration() throws -> (critic: Float, generator: Float) {
        let (h, w) = (height, width)
        let losses = try step.run(iteration: iterationCount, reconstructionNoise: nil) {
            self.rng.uniform(shape: [1, 3, h, w], low: -1, high: 1)
        }
        iterationCount += 1
        return (losses.critic, losses.generator)
    }
}
