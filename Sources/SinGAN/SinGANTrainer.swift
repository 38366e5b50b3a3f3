import Engine
import Foundation

/// Trains a SinGAN coarse to fine (docs/ALGORITHM.md section 3), with checkpoints that let an
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
    /// Measured seconds per unit of `iterationCost`, for the ETA.
    private var secondsPerCost: Double?

    /// The state of the scale in training.
    private struct ScaleState {
        let n: Int
        var iteration: Int
        /// The scale's networks, optimisers, sigma and inputs.
        let step: TrainingStep
        /// The lowest sigma this scale can have (`ImagePyramid.noiseFloor`); nil at scale 0.
        let noiseFloor: Float?
        /// rand(n) drawn when the scale started (`config.randomInputBank`); empty: drawn anew.
        let randomInputBank: [Tensor]
        var generator: Generator { step.generator }
        var critic: Critic { step.critic }
        var sigma: Float { step.sigma }
        var iterations: Int { step.schedule.iterations }
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
        self.current = try makeState(t.scale, iteration: t.iteration, generator: t.generator, critic: t.critic,
                                     optimizers: optimizers, sigma: t.sigma,
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
        let scaleCount = pyramid.reals.count
        if current == nil && model == nil {
            current = try startScale(0, after: nil)
            try writeCheckpoint()
        }
        while var state = current {
            try train(&state)
            try recalibrateNormalization(state)
            state.generator.isTraining = false
            let sigmaReport = state.sigma
            model!.scales.append(.init(generator: state.generator, sigma: state.sigma, real: pyramid.reals[state.n]))
            log.scales.append(ScaleReport(
                scale: state.n, size: pyramid.geometry.sizes[state.n], channels: state.generator.channels,
                noiseAmplitude: sigmaReport, noiseFloor: state.noiseFloor, iterations: state.iterations, seconds: log.currentScaleSeconds,
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
            generator = Generator(channels: channels, rng: scratch)
            critic = Critic(channels: channels, rng: scratch)
            generator.copyWeights(from: previous.generator)
            critic.copyWeights(from: previous.critic)
            generator.isTraining = true
        } else {
            generator = Generator(channels: channels, rng: rng)
            critic = Critic(channels: channels, rng: rng)
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
        return try makeState(n, iteration: 0, generator: generator, critic: critic,
                             optimizers: makeOptimizers(generator, critic), sigma: sigma, reconstructionInput: recInput)
    }

    /// The state of scale n, at the start of a scale or when resuming: its training step, its
    /// noise floor and its bank of rand(n).
    private func makeState(_ n: Int, iteration: Int, generator: Generator, critic: Critic,
                           optimizers: (generator: Adam, critic: Adam), sigma: Float,
                           reconstructionInput: Tensor) throws -> ScaleState {
        let step = TrainingStep(scale: n, generator: generator, critic: critic,
                                generatorOptimizer: optimizers.generator, criticOptimizer: optimizers.critic,
                                sigma: sigma, real: pyramid.reals[n], reconstructionInput: reconstructionInput,
                                config: config, rng: rng)
        return ScaleState(n: n, iteration: iteration, step: step,
                          noiseFloor: try pyramid.noiseFloor(atScale: n, amplitudeFactor: config.noiseAmplitudeFactor),
                          randomInputBank: try randomInputBank(atScale: n))
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

    /// `config.randomInputBankSize` draws of rand(n), from a generator seeded by the run's seed
    /// and n alone, so that a resumed run makes the same bank. Empty where rand(n) is drawn anew.
    private func randomInputBank(atScale n: Int) throws -> [Tensor] {
        let count = config.randomInputBankSize(atScale: n, of: pyramid.geometry.sizes[n])
        guard count > 0 else { return [] }
        let bankRNG = scaleRNG(n, salt: 0x9E37_79B9_7F4A_7C15)
        return try (0..<count).map { _ in try model!.randomInput(atScale: n, rng: bankRNG) }
    }

    /// At the end of a scale trained on windows, `config.normalizationPasses` whole-image passes
    /// set its generator's BatchNorm statistics (`TrainingStep.recalibrateNormalization`), with
    /// rand(n) from the scale's bank (or drawn anew without one) and noise from a generator
    /// seeded by the run's seed and n alone, so that a resumed run gets the same statistics.
    private func recalibrateNormalization(_ s: ScaleState) throws {
        let size = pyramid.geometry.sizes[s.n]
        guard config.normalizationPasses > 0, config.cropSize > 0,
              size.height > config.cropSize || size.width > config.cropSize else { return }
        let passRNG = scaleRNG(s.n, salt: 0xD1B5_4A32_D192_ED03)
        let bank = s.randomInputBank
        try s.step.recalibrateNormalization(passes: config.normalizationPasses, rng: passRNG) { k in
            bank.isEmpty ? try model!.randomInput(atScale: s.n, rng: passRNG) : bank[k % bank.count]
        }
    }

    /// A generator seeded by the run's seed, scale n and `salt` alone, not drawn from the run's
    /// generator: what it draws at a scale's start or end is the same in a resumed run.
    private func scaleRNG(_ n: Int, salt: UInt64) -> RandomGenerator {
        RandomGenerator(seed: config.seed &+ salt &* UInt64(n + 1))
    }

    // MARK: - Iterations

    /// Trains the current scale from its iteration to the end.
    private func train(_ state: inout ScaleState) throws {
        let clock = ContinuousClock()
        let started = clock.now
        let secondsBefore = log.currentScaleSeconds
        let iterationsBefore = state.iteration
        current = state
        while state.iteration < state.iterations {
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
            if state.iteration % config.checkpointInterval == 0 && state.iteration < state.iterations {
                try writeCheckpoint()
            }
            if let progress {
                let elapsed = seconds(clock.now - started)
                let perIteration = elapsed / Double(state.iteration - iterationsBefore)
                // A scale's first second (its first iteration, the bank) is no measure of its
                // speed: until then the previous scale's measured time per unit of cost stands
                // (on tree.png the rate of a first iteration put the total ETA 8-70% too long).
                if elapsed >= 1 || secondsPerCost == nil { secondsPerCost = perIteration / iterationCost(atScale: state.n) }
                progress(makeProgress(state, losses: losses,
                                      secondsPerIteration: secondsPerCost! * iterationCost(atScale: state.n)))
            }
        }
    }

    /// One iteration of the current scale (`TrainingStep`); at scale 0 with `.redrawn`, a new z*
    /// first.
    private func iterate(_ s: inout ScaleState) throws -> TrainingLosses {
        let n = s.n
        if n == 0 && config.zStarMode == .redrawn {
            model!.zStar = drawNoise(scale: 0, size: pyramid.geometry.sizes[0], noisePadding: config.noisePadding, rng: rng)
        }
        let bank = s.randomInputBank
        return try s.step.run(iteration: s.iteration, reconstructionNoise: n == 0 ? model!.zStar : nil) {
            bank.isEmpty ? try model!.randomInput(atScale: n, rng: rng) : bank[Int(rng.next() % UInt64(bank.count))]
        }
    }

    // MARK: - Checkpoints and progress

    private func writeCheckpoint() throws {
        guard let checkpointPath, let model, let s = current else { return }
        let checkpoint = TrainingCheckpoint(
            scale: s.n, iteration: s.iteration, generator: s.step.generator, critic: s.step.critic,
            generatorOptimizer: AdamState(s.step.generatorOptimizer), criticOptimizer: AdamState(s.step.criticOptimizer),
            sigma: s.sigma, rngState: rng.state, reals: pyramid.reals, log: log)
        try ModelFile.encode(model: model, training: checkpoint).write(to: checkpointPath)
    }

    private func makeProgress(_ s: ScaleState, losses: TrainingLosses, secondsPerIteration perIteration: Double) -> TrainingProgress {
        let sizes = pyramid.geometry.sizes
        let rate = 1 / max(perIteration, 1e-9)
        let scaleLeft = Double(s.iterations - s.iteration) * perIteration
        // Later scales: this scale's measured time per iteration, scaled by the cost model.
        let here = iterationCost(atScale: s.n)
        let laterScales = ((s.n + 1)..<sizes.count).reduce(0.0) {
            $0 + Double(config.schedule(forScale: $1, of: sizes[$1]).iterations) * iterationCost(atScale: $1) / here
        }
        return TrainingProgress(
            scale: s.n, scaleCount: sizes.count, iteration: s.iteration, iterations: s.iterations,
            iterationsPerSecond: rate, scaleSecondsLeft: scaleLeft,
            totalSecondsLeft: scaleLeft + laterScales * perIteration,
            losses: losses, noiseAmplitude: s.sigma, noiseFloor: s.noiseFloor)
    }

    /// The relative cost of one iteration at scale n, in forward passes of one network (see
    /// `passCost`): a critic step is about 7 passes (the generator's forward, the critic on two
    /// images forward and backward) plus 7 for the penalty (forward, input gradient with a graph,
    /// and its backward) when it applies, plus, for rand(n) unless it comes from a bank, one
    /// forward pass of every coarser generator at its full size; a generator step about 8 (the
    /// generator twice forward and backward, the critic forward and input backward).
    private func iterationCost(atScale n: Int) -> Double {
        let sizes = pyramid.geometry.sizes
        let schedule = config.schedule(forScale: n, of: sizes[n])
        let pass = passCost(sizes[n], window: config.cropSize, channels: config.channels(atScale: n))
        var critic = (7 + 7 / Double(config.penaltyInterval)) * pass
        if n > 0 && config.randomInputBankSize(atScale: n, of: sizes[n]) == 0 {
            critic += (0..<n).reduce(0) { $0 + passCost(sizes[$1], window: 0, channels: config.channels(atScale: $1)) }
        }
        return Double(schedule.criticSteps) * critic + Double(schedule.generatorSteps) * 8 * pass
    }

    /// One network's forward pass over an image of `size` (or its `window` when that is smaller;
    /// 0 for none): its padded pixels x (width / 32)^1.7, plus 900 pixels' worth of fixed cost.
    ///
    /// The fixed cost is the per-op overhead (dispatch, allocation, small element-wise ops) that
    /// dominates tiny scales: fitted on balloons at `fast` (2 Zen 3 cores, 2026-12-04), time per
    /// pass = 198 ns x padded pixels + 179 us, i.e. 906 pixels, from 25 x 34 (1,540 padded
    /// pixels) to 138 x 138 (19,044). Without it the four coarse scales cost 28% more per unit
    /// than the finer ones, and the ETA after the first minute was up to 38% too long.
    ///
    /// Width^1.7, not the convolutions' width^2: element-wise ops and BatchNorm grow with the
    /// width only. Fitted with the fixed cost on `paper` (widths 32, 64 and 128; 3 + 3 steps) and
    /// `fast`: the per-scale times' rms error in log is 0.06 with 1.7, 0.11 with 1.5
    /// (BENCHMARKS.md, "All nine images re-timed").
    private func passCost(_ size: ImageSize, window: Int, channels: Int) -> Double {
        let side = window > 0 ? window : Int.max
        let pixels = Double((min(size.height, side) + 2 * networkPadding) * (min(size.width, side) + 2 * networkPadding))
        return pixels * pow(Double(channels) / 32, 1.7) + 900
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
