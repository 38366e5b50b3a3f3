import Engine

/// Paint to image (docs/ALGORITHM.md section 4): injection of a paint at a coarse scale, optionally with
/// the paint quantised to a palette of the training image and the injection scale's generator
/// fine-tuned on quantised inputs (the authors' `quantization_flag`).

extension SinGANModel {
    /// The 5-colour (by default) k-means palette of the training image at scale n.
    public func palette(atScale n: Int, count: Int = 5, seed: UInt64 = 0) -> Palette {
        Palette(kMeansOf: scales[n].real, count: count, seed: seed)
    }

    /// What G_n receives when `image` is injected at scale n: the image resized to scale n-1 and
    /// upsampled to scale n, then mapped onto `palette` if one is given (so the input holds
    /// only palette colours, as in fine-tuning).
    public func injectionInput(_ image: Tensor, atScale n: Int, palette: Palette? = nil) throws -> Tensor {
        try checkInjectionScale(n)
        let coarse = try resized(image, to: sizes[n - 1])
        let input = try upsample(coarse, to: sizes[n])
        return palette.map { $0.quantize(input) } ?? input
    }

    /// Runs G_n ... G_finest with fresh noise from an input of scale n (see `injectionInput`).
    public func generate(fromInput input: Tensor, atScale n: Int, rng: RandomGenerator) throws -> Tensor {
        try checkInjectionScale(n)
        return try generate(from: n, through: finest, previous: input, sizes: sizes) { k, size in
            self.noise(scale: k, size: size, rng: rng)
        }
    }

    func checkInjectionScale(_ n: Int) throws {
        guard finest >= 1, (1...finest).contains(n) else {
            throw SinGANError.invalidConfiguration(parameter: "injection scale",
                reason: finest >= 1 ? "must be in 1...\(finest) for this \(count)-scale model, got \(n)"
                                    : "this model has a single scale, nothing can be injected")
        }
    }

    /// A copy of this model whose generator at scale n is fine-tuned so that it turns
    /// palette-quantised inputs into images of the training distribution: training as in
    /// docs/ALGORITHM.md section 3 (`TrainingStep` with the losses, optimiser and schedule of `config`), except that
    /// G_n starts from the trained weights, the critic is fresh, and the random path's input
    /// `rand(n)` is quantised to `palette` at every critic step. The reconstruction path is kept
    /// unquantised so that G_n still reproduces the training image. The model itself is unchanged.
    ///
    /// - Parameters:
    ///   - config: iterations, learning rates, steps and loss weights of the fine-tuning.
    ///   - progress: called after every iteration with (iterations done, iterations).
    ///   - shouldStop: checked before every iteration; true throws `SinGANError.cancelled(nil)`.
    public func fineTuned(atScale n: Int, palette: Palette, config: TrainingConfig, seed: UInt64,
                          progress: (Int, Int) -> Void = { _, _ in },
                          shouldStop: () -> Bool = { false }) throws -> SinGANModel {
        try checkInjectionScale(n)
        try config.validate()
        let rng = RandomGenerator(seed: seed)
        let trained = scales[n].generator
        let generator = Generator(channels: trained.channels, rng: RandomGenerator(seed: 0))
        generator.copyWeights(from: trained)
        generator.isTraining = true
        let critic = Critic(channels: trained.channels, rng: rng)
        let betas = (config.beta1, config.beta2)
        // The model's noise maps keep their own shape (padded for animation models).
        var tuning = config
        tuning.noisePadding = self.config.noisePadding
        let size = sizes[n], real = scales[n].real, sigma = scales[n].sigma
        let step = TrainingStep(
            scale: n, generator: generator, critic: critic,
            generatorOptimizer: Adam(parameters: generator.parameters, lr: config.learningRate, betas: betas),
            criticOptimizer: Adam(parameters: critic.parameters, lr: config.learningRate, betas: betas),
            sigma: sigma, real: real, reconstructionInput: try upsample(try reconstruction(atScale: n - 1), to: size),
            config: tuning, rng: rng)
        let iterations = step.schedule.iterations
        for iteration in 0..<iterations {
            if shouldStop() { throw SinGANError.cancelled(checkpoint: nil) }
            _ = try step.run(iteration: iteration, reconstructionNoise: nil) {
                palette.quantize(try randomInput(atScale: n, rng: rng))
            }
            progress(iteration + 1, iterations)
        }
        generator.isTraining = false
        var tuned = scales
        tuned[n] = Scale(generator: generator, sigma: sigma, real: real)
        return SinGANModel(scales: tuned, zStar: zStar, config: self.config, geometry: geometry)
    }
}
