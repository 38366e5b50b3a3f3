import Engine

/// Trains a SinGAN coarse to fine (SINGAN.md section 3), with checkpoints that let an
/// interrupted run continue to the very same model, bit for bit.
///
/// Usage: make one with `init(pyramid:config:)` (or `init(resumingFrom:pyramid:)`), set
/// `checkpointPath`, `progress` and `shouldStop` as needed, call `train()`.
public final class SinGANTrainer {
    /// The training images.
    public let pyramid: ImagePyramid
    /// The run's configuration.
    public let config: TrainingConfig
    /// Where checkpoints and, at the end, the finished model are written (atomically): after
    /// every scale, every `config.checkpointInterval` iterations and when stopped. Nil: nothing
    /// is written.
    public var checkpointPath: String?
    /// Called after every iteration.
    public var progress: ((TrainingProgress) -> Void)?
    /// Checked before every iteration; returning true writes a checkpoint and makes `train()`
    /// throw `SinGANError.cancelled`.
    public var shouldStop: () -> Bool = { false }
    /// Timings and losses so far (including those of the run this one resumed).
    public private(set) var log: TrainingLog
    /// Whether this trainer continues an interrupted run.
    public let resumed: Bool

    private let rng: RandomGenerator
    /// The finished scales (and z*); nil until scale 0 starts.
    private var model: SinGANModel?
    /// The scale in training; nil before the first scale starts or after the last one ended.
    private var current: ScaleState?

    /// The state of the scale in training.
    private struct ScaleState {
        let n: Int
        var iteration: Int
        let generator: Generator
        let critic: Critic
        let generatorOptimizer: Adam
        let criticOptimizer: Adam
        let sigma: Float
        /// The lowest sigma this scale can have (`ImagePyramid.noiseFloor`); nil at scale 0.
        let noiseFloor: Float?
        /// rec(n), the reconstruction path's input at this scale (zeros at scale 0).
        let reconstructionInput: Tensor
    }

    /// A new run.
    public init(pyramid: ImagePyramid, config: TrainingConfig) throws {
        try config.validate()
        self.pyramid = pyramid
        self.config = config
        self.rng = RandomGenerator(seed: config.seed)
        self.log = TrainingLog()
        self.resumed = false
    }

    /// Continues the run whose checkpoint is at `path`. Its configuration is the checkpoint's;
    /// `pyramid` must be the same images (the run's input image), or this fails.
    public init(resumingFrom path: String, pyramid: ImagePyramid) throws {
        let file = try SafeTensorsFile.read(from: path)
        let contents = try ModelFile.decode(file, path: path)
        guard let t = contents.training else {
            throw SinGANError.resumeMismatch(path: path, reason: "it holds a finished model, there is nothing to resume")
        }
        guard pyramid.reals.count == t.reals.count,
              zip(pyramid.reals, t.reals).allSatisfy({ $0.shape == $1.shape && $0.scalars == $1.scalars }) else {
            throw SinGANError.resumeMismatch(path: path, reason: "the checkpoint was made from another image or pyramid settings")
        }
        self.pyramid = pyramid
        self.config = contents.model.config
        self.rng = RandomGenerator(seed: config.seed)
        rng.state = t.rngState
        self.log = t.log
        self.resumed = true
        self.model = contents.model
        self.checkpointPath = path
        let optimizers = makeOptimizers(t.generator, t.critic)
        t.generatorOptimizer.apply(to: optimizers.generator)
        t.criticOptimizer.apply(to: optimizers.critic)
        self.current = ScaleState(
            n: t.scale, iteration: t.iteration, generator: t.generator, critic: t.critic,
            generatorOptimizer: optimizers.generator, criticOptimizer: optimizers.critic, sigma: t.sigma,
            noiseFloor: try pyramid.noiseFloor(atScale: t.scale, amplitudeFactor: config.noiseAmplitudeFactor),
            reconstructionInput: try reconstructionInput(atScale: t.scale, model: contents.model))
    }

    /// The configuration stored in the checkpoint at `path` (to rebuild its pyramid before
    /// resuming). Fails like `SinGANModel.load(from:)` for damaged files, and for finished models.
    public static func configuration(ofCheckpointAt path: String) throws -> TrainingConfig {
        let contents = try ModelFile.decode(try SafeTensorsFile.read(from: path), path: path)
        guard contents.training != nil else {
            throw SinGANError.resumeMismatch(path: path, reason: "it holds a finished model, there is nothing to resume")
        }
        return contents.model.config
    }

    /// Runs (or continues) training to the end and returns the model, which is also written to
    /// `checkpointPath` if set.
    public func train() throws -> SinGANModel {
        Memory.retainFreedBlocks()
        let scaleCount = pyramid.reals.count
        if current == nil && model == nil {
            current = try startScale(0, after: nil)
            try writeCheckpoint()
        }
        while var state = current {
            try train(&state)
            state.generator.isTraining = false
            let sigmaReport = state.sigma
            model!.scales.append(.init(generator: state.generator, sigma: state.sigma, real: pyramid.reals[state.n]))
            log.scales.append(ScaleReport(
                scale: state.n, size: pyramid.geometry.sizes[state.n], channels: state.generator.channels,
                noiseAmplitude: sigmaReport, noiseFloor: state.noiseFloor, iterations: config.iterations, seconds: log.currentScaleSeconds,
                finalLosses: lastLosses ?? TrainingLosses(critic: .nan, generator: .nan, reconstruction: .nan)))
            log.currentScaleSeconds = 0
            if state.n + 1 < scaleCount {
                current = try startScale(state.n + 1, after: state)
                try writeCheckpoint()
            } else {
                current = nil
            }
        }
        if let checkpointPath { try model!.save(to: checkpointPath) }
        return model!
    }

    private var lastLosses: TrainingLosses?

    // MARK: - Scales

    /// Sets up scale n: networks (copied from scale n-1 when the width is unchanged, else fresh),
    /// sigma_n from the reconstruction error, new optimisers.
    private func startScale(_ n: Int, after previous: ScaleState?) throws -> ScaleState {
        let channels = config.channels(atScale: n)
        let generator: Generator, critic: Critic
        if let previous, previous.generator.channels == channels {
            // Scratch initialisation (not from the run's generator), then overwritten.
            let scratch = RandomGenerator(seed: 0)
            generator = Generator(channels: channels, generator: scratch)
            critic = Critic(channels: channels, generator: scratch)
            generator.copyWeights(from: previous.generator)
            critic.copyWeights(from: previous.critic)
            generator.isTraining = true
        } else {
            generator = Generator(channels: channels, generator: rng)
            critic = Critic(channels: channels, generator: rng)
        }
        let sigma: Float
        let recInput: Tensor
        if n == 0 {
            let size = pyramid.geometry.sizes[0]
            let zStar = drawNoise(scale: 0, size: size, noisePadding: config.noisePadding, rng: rng)
            model = SinGANModel(scales: [], zStar: zStar, config: config, geometry: pyramid.geometry)
            sigma = 1
            recInput = Tensor.zeros([1, 3, size.height, size.width])
        } else {
            recInput = try reconstructionInput(atScale: n, model: model!)
            sigma = config.noiseAmplitudeFactor * rootMeanSquare(pyramid.reals[n], recInput)
        }
        let optimizers = makeOptimizers(generator, critic)
        return ScaleState(n: n, iteration: 0, generator: generator, critic: critic,
                          generatorOptimizer: optimizers.generator, criticOptimizer: optimizers.critic,
                          sigma: sigma,
                          noiseFloor: try pyramid.noiseFloor(atScale: n, amplitudeFactor: config.noiseAmplitudeFactor),
                          reconstructionInput: recInput)
    }

    private func makeOptimizers(_ g: Generator, _ d: Critic) -> (generator: Adam, critic: Adam) {
        let betas = (config.beta1, config.beta2)
        return (Adam(parameters: g.parameters, lr: config.learningRate, betas: betas),
                Adam(parameters: d.parameters, lr: config.learningRate, betas: betas))
    }

    /// rec(n): the finished scales 0..n-1 on (z*, 0, ...), upsampled to scale n.
    private func reconstructionInput(atScale n: Int, model: SinGANModel) throws -> Tensor {
        let size = pyramid.geometry.sizes[n]
        guard n > 0 else { return Tensor.zeros([1, 3, size.height, size.width]) }
        return try model.upsample(try model.reconstruction(atScale: n - 1), to: size)
    }

    /// rand(n): the finished scales on fresh noise, upsampled to scale n (zeros at scale 0).
    private func randomInput(atScale n: Int) throws -> Tensor {
        let size = pyramid.geometry.sizes[n]
        guard n > 0, let model else { return Tensor.zeros([1, 3, size.height, size.width]) }
        let sample = try model.generate(
            from: 0, through: n - 1, previous: Tensor.zeros([1, 3, model.sizes[0].height, model.sizes[0].width]),
            sizes: model.sizes) { k, size in model.noise(scale: k, size: size, rng: rng) }
        return try model.upsample(sample, to: size)
    }

    // MARK: - Iterations

    /// Trains the current scale from its iteration to the end.
    private func train(_ state: inout ScaleState) throws {
        let clock = ContinuousClock()
        let started = clock.now
        let secondsBefore = log.currentScaleSeconds
        let iterationsBefore = state.iteration
        current = state
        while state.iteration < config.iterations {
            if shouldStop() {
                current = state
                log.currentScaleSeconds = secondsBefore + seconds(clock.now - started)
                try writeCheckpoint()
                throw SinGANError.cancelled(checkpoint: checkpointPath)
            }
            let losses = try iterate(&state)
            lastLosses = losses
            state.iteration += 1
            current = state
            log.currentScaleSeconds = secondsBefore + seconds(clock.now - started)
            if state.iteration % config.checkpointInterval == 0 && state.iteration < config.iterations {
                try writeCheckpoint()
            }
            if let progress {
                let done = state.iteration - iterationsBefore
                let rate = Double(done) / max(seconds(clock.now - started), 1e-9)
                progress(makeProgress(state, losses: losses, rate: rate))
            }
        }
    }

    /// One iteration: 3 critic steps (WGAN-GP) then 3 generator steps (adversarial +
    /// reconstruction), SINGAN.md section 3.
    private func iterate(_ s: inout ScaleState) throws -> TrainingLosses {
        let n = s.n, size = pyramid.geometry.sizes[n], real = pyramid.reals[n]
        if n == 0 && config.zStarMode == .redrawn {
            model!.zStar = drawNoise(scale: 0, size: size, noisePadding: config.noisePadding, rng: rng)
        }
        let noise = drawNoise(scale: n, size: size, noisePadding: config.noisePadding, rng: rng)
        let lr = s.iteration >= config.learningRateDropIteration
            ? config.learningRate * config.learningRateDecay : config.learningRate
        s.generatorOptimizer.lr = lr
        s.criticOptimizer.lr = lr

        var previous = Tensor.zeros([1, 3, size.height, size.width])
        var criticLoss: Float = 0
        for _ in 0..<config.criticSteps {
            previous = try randomInput(atScale: n)
            let prev = previous
            // The generator runs in training mode (batch statistics, running statistics
            // updated) but without a graph: the critic step treats the fake as a constant.
            let fake = withNoGrad { runGenerator(s.generator, sigma: s.sigma, noise: noise, previous: prev) }
            let lossReal = 0 - mean(s.critic(real))
            let lossFake = mean(s.critic(fake))
            let penalty = gradientPenalty(s.critic, real: real, fake: fake)
            let loss = lossReal + lossFake + penalty
            step(s.criticOptimizer, loss: loss)
            criticLoss = loss.item
        }

        let zRec = n == 0 ? model!.zStar : Tensor.zeros([1, 3, size.height, size.width])
        var generatorLoss: Float = 0, reconstructionLoss: Float = 0
        for _ in 0..<config.generatorSteps {
            let fake = runGenerator(s.generator, sigma: s.sigma, noise: noise, previous: previous)
            let adversarial = 0 - mean(s.critic(fake))
            let rec = runGenerator(s.generator, sigma: s.sigma, noise: zRec, previous: s.reconstructionInput)
            let recError = mean(square(rec - real))
            step(s.generatorOptimizer, loss: adversarial + config.reconstructionWeight * recError)
            generatorLoss = adversarial.item
            reconstructionLoss = recError.item
        }
        let losses = TrainingLosses(critic: criticLoss, generator: generatorLoss, reconstruction: reconstructionLoss)
        for (name, value) in [("critic loss", criticLoss), ("generator loss", generatorLoss),
                              ("reconstruction loss", reconstructionLoss)] where !value.isFinite {
            throw SinGANError.diverged(scale: n, iteration: s.iteration, loss: name)
        }
        return losses
    }

    /// WGAN-GP: `lambda * mean((||dD(xh)/dxh||_channels - 1)^2)` at `xh = a*real + (1-a)*fake`, one
    /// uniform `a` per image. The input gradient is built with a graph, so the penalty's
    /// gradient with respect to the critic's weights is the true second-order one.
    private func gradientPenalty(_ critic: Critic, real: Tensor, fake: Tensor) -> Tensor {
        let a = rng.uniformScalar()
        let mixed = (a * real + (1 - a) * fake).detached()
        mixed.requiresGrad = true
        let score = critic(mixed)
        let g = gradients(of: score, with: [mixed], createGraph: true)[0]
        return config.gradientPenaltyWeight * mean(square(channelNorm(g) - 1))
    }

    /// Gradients of `loss` with respect to the optimiser's parameters only, then one Adam step.
    private func step(_ optimizer: Adam, loss: Tensor) {
        let grads = gradients(of: loss, with: optimizer.parameters)
        for (p, g) in zip(optimizer.parameters, grads) { p.grad = g }
        optimizer.step()
        optimizer.zeroGrad()
    }

    // MARK: - Checkpoints and progress

    private func writeCheckpoint() throws {
        guard let checkpointPath, let model, let s = current else { return }
        let checkpoint = TrainingCheckpoint(
            scale: s.n, iteration: s.iteration, generator: s.generator, critic: s.critic,
            generatorOptimizer: AdamState(s.generatorOptimizer), criticOptimizer: AdamState(s.criticOptimizer),
            sigma: s.sigma, rngState: rng.state, reals: pyramid.reals, log: log)
        try ModelFile.encode(model: model, training: checkpoint).write(to: checkpointPath)
    }

    private func makeProgress(_ s: ScaleState, losses: TrainingLosses, rate: Double) -> TrainingProgress {
        let sizes = pyramid.geometry.sizes
        // Cost of one iteration at scale k relative to scale n: pixels times width squared.
        func cost(_ k: Int) -> Double {
            let c = Double(config.channels(atScale: k))
            return Double((sizes[k].height + 10) * (sizes[k].width + 10)) * c * c
        }
        let perIteration = 1 / max(rate, 1e-9)
        let scaleLeft = Double(config.iterations - s.iteration) * perIteration
        let laterScales = ((s.n + 1)..<sizes.count).reduce(0.0) { $0 + cost($1) / cost(s.n) }
        return TrainingProgress(
            scale: s.n, scaleCount: sizes.count, iteration: s.iteration, iterations: config.iterations,
            iterationsPerSecond: rate, scaleSecondsLeft: scaleLeft,
            totalSecondsLeft: scaleLeft + laterScales * Double(config.iterations) * perIteration,
            losses: losses, noiseAmplitude: s.sigma, noiseFloor: s.noiseFloor)
    }
}

/// sqrt(mean((a - b)^2)), accumulated in double.
func rootMeanSquare(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.shape == b.shape, "rootMeanSquare: shapes \(a.shape) and \(b.shape) differ")
    var sum = 0.0
    for i in 0..<a.count {
        let d = Double(a.scalars[i]) - Double(b.scalars[i])
        sum += d * d
    }
    return Float((sum / Double(a.count)).squareRoot())
}

private func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}
