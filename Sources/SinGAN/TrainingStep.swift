import Engine

/// One SinGAN training iteration at one scale (docs/ALGORITHM.md section 3): critic steps (WGAN-GP),
/// then generator steps (adversarial + alpha x reconstruction), Adam on each network. The only
/// place this step is written: `SinGANTrainer`, the paint task's fine-tuning and `singan bench`
/// all run it.
///
/// With the paper's settings every iteration sees the whole image. The `fast` preset's settings
/// change three things here, each documented on `TrainingConfig`: a random window per iteration
/// (`cropSize`), the penalty at every k-th critic step only (`penaltyInterval`), and the
/// per-scale numbers of steps (`schedule(forScale:of:)`); rand(n) comes from the caller.
public final class TrainingStep {
    /// The scale trained (0 is the coarsest).
    public let scale: Int
    public let generator: Generator
    public let critic: Critic
    public let generatorOptimizer: Adam
    public let criticOptimizer: Adam
    /// sigma_n, the scale's noise amplitude.
    public let sigma: Float
    /// The scale's real image.
    public let real: Tensor
    /// This scale's iterations and steps.
    public let schedule: StepSchedule
    private let config: TrainingConfig
    private let rng: RandomGenerator
    /// rec(n), zero-padded by `networkPadding` (padded once: every iteration reads it).
    private let paddedReconstruction: Tensor

    /// - Parameters:
    ///   - reconstructionInput: rec(n), the reconstruction path's input at this scale (zeros at
    ///     scale 0).
    ///   - rng: draws the noise maps, windows and penalty mixing weights, in a fixed order.
    public init(scale: Int, generator: Generator, critic: Critic, generatorOptimizer: Adam, criticOptimizer: Adam,
                sigma: Float, real: Tensor, reconstructionInput: Tensor, config: TrainingConfig, rng: RandomGenerator) {
        self.scale = scale
        self.generator = generator
        self.critic = critic
        self.generatorOptimizer = generatorOptimizer
        self.criticOptimizer = criticOptimizer
        self.sigma = sigma
        self.real = real
        self.config = config
        self.rng = rng
        self.schedule = config.schedule(forScale: scale, of: ImageSize(height: real.shape[2], width: real.shape[3]))
        self.paddedReconstruction = zeroPad(reconstructionInput, networkPadding)
    }

    private var size: ImageSize { ImageSize(height: real.shape[2], width: real.shape[3]) }

    /// Runs iteration `iteration` (0-based; it sets the learning rate and which critic steps
    /// carry the penalty) and returns its last losses.
    ///
    /// - Parameters:
    ///   - reconstructionNoise: z* at scale 0; nil at finer scales, whose reconstruction noise
    ///     is zero.
    ///   - randomInput: rand(n), the coarser scales' output on fresh noise upsampled to this
    ///     scale; called once per critic step.
    /// - Throws: `SinGANError.diverged` when a loss is not finite.
    public func run(iteration: Int, reconstructionNoise: Tensor?,
                    randomInput: () throws -> Tensor) throws -> TrainingLosses {
        let lr = config.learningRate(atIteration: iteration, of: schedule.iterations)
        generatorOptimizer.lr = lr
        criticOptimizer.lr = lr
        let noise = paddedNoise(drawNoise(scale: scale, size: size, noisePadding: config.noisePadding, rng: rng))
        let window = config.cropSize > 0 ? TrainingWindow.random(side: config.cropSize, in: size, rng: rng) : .whole(size)
        let windowNoise = window.cutPadded(noise)

        var previous = Tensor.zeros([1, 3, size.height + 2 * networkPadding, size.width + 2 * networkPadding])
        var criticLoss: Float = 0
        for j in 0..<schedule.criticSteps {
            previous = window.cutPadded(zeroPad(try randomInput(), networkPadding))
            let prev = previous
            // The generator runs in training mode (batch statistics, running statistics
            // updated) but without a graph: the critic step treats the fake as a constant.
            let fake = withNoGrad { generator(sigma * windowNoise + prev, prev) }
            // The critic compares the fake window with a real window drawn independently, so
            // that it learns the image's patch distribution, not the window's position.
            let realWindow = window.covers(size) ? real
                : TrainingWindow.random(side: config.cropSize, in: size, rng: rng).cut(real)
            var loss = (0 - mean(critic(realWindow))) + mean(critic(fake))
            let penaltyStep = (iteration * schedule.criticSteps + j) % config.penaltyInterval == 0
            if penaltyStep { loss = loss + gradientPenalty(real: realWindow, fake: fake) }
            update(criticOptimizer, loss: loss)
            criticLoss = loss.item
        }

        let recNoise = reconstructionNoise.map { window.cutPadded(paddedNoise($0)) }
        let recPrevious = window.cutPadded(paddedReconstruction)
        let recInput = recNoise.map { sigma * $0 + recPrevious } ?? recPrevious
        let recTarget = window.cut(real)
        var generatorLoss: Float = 0, reconstructionLoss: Float = 0
        for _ in 0..<schedule.generatorSteps {
            let fake = generator(sigma * windowNoise + previous, previous)
            let adversarial = 0 - mean(critic(fake))
            let rec = generator(recInput, recPrevious)
            let recError = mean(square(rec - recTarget))
            update(generatorOptimizer, loss: adversarial + config.reconstructionWeight * recError)
            generatorLoss = adversarial.item
            reconstructionLoss = recError.item
        }
        for (name, value) in [("critic loss", criticLoss), ("generator loss", generatorLoss),
                              ("reconstruction loss", reconstructionLoss)] where !value.isFinite {
            throw SinGANError.diverged(scale: scale, iteration: iteration, loss: name)
        }
        return TrainingLosses(critic: criticLoss, generator: generatorLoss, reconstruction: reconstructionLoss)
    }

    /// Recomputes the generator's BatchNorm running statistics, which the finished generator
    /// samples with, as their plain average over `passes` passes on the whole image:
    /// `G(sigma * z + rand(n), rand(n))` with `randomInput(k)` as rand(n) and fresh noise z from
    /// `rng`. Training on windows leaves them an exponential average (momentum 0.1) of the last
    /// ten or so windows' statistics: their mean depends on where those windows fell, and their
    /// variance misses the variation between windows.
    public func recalibrateNormalization(passes: Int, rng: RandomGenerator, randomInput: (Int) throws -> Tensor) throws {
        let norms = generator.stack.blocks.map(\.bn)
        let momentum = norms.map(\.momentum)
        let mode = generator.isTraining
        defer {
            for (b, m) in zip(norms, momentum) { b.momentum = m }
            generator.isTraining = mode
        }
        generator.isTraining = true
        for k in 0..<passes {
            for b in norms { b.momentum = 1 / Float(k + 1) }
            let previous = try randomInput(k)
            let z = drawNoise(scale: scale, size: size, noisePadding: config.noisePadding, rng: rng)
            _ = withNoGrad { runGenerator(generator, sigma: sigma, noise: z, previous: previous) }
        }
    }

    /// A noise map at the padded size: zero-padded, unless drawn at the padded size already
    /// (noise padding).
    private func paddedNoise(_ z: Tensor) -> Tensor {
        z.shape[2] == size.height ? zeroPad(z, networkPadding) : z
    }

    /// WGAN-GP: `lambda * mean((||dD(xh)/dxh||_channels - 1)^2)` at `xh = a*real + (1-a)*fake`,
    /// one uniform `a` per image; lambda is multiplied by `penaltyInterval` (a lazy penalty
    /// keeps the same weight on average). The input gradient is built with a graph, so the
    /// penalty's gradient with respect to the critic's weights is the true second-order one.
    private func gradientPenalty(real: Tensor, fake: Tensor) -> Tensor {
        let a = rng.uniformScalar()
        let mixed = (a * real + (1 - a) * fake).detached()
        mixed.requiresGrad = true
        let g = gradients(of: critic(mixed), with: [mixed], createGraph: true)[0]
        return (config.gradientPenaltyWeight * Float(config.penaltyInterval)) * mean(square(channelNorm(g) - 1))
    }

    /// Gradients of `loss` with respect to the optimiser's parameters only (the other network's
    /// weight gradients are never computed), then one Adam step.
    private func update(_ optimizer: Adam, loss: Tensor) {
        let grads = gradients(of: loss, with: optimizer.parameters)
        for (p, g) in zip(optimizer.parameters, grads) { p.grad = g }
        optimizer.step()
        optimizer.zeroGrad()
    }
}
