import Engine

/// Paint to image (SINGAN.md section 4): injection of a paint at a coarse scale, optionally with
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
    /// SINGAN.md section 3 (the same losses, optimiser and schedule from `config`), except that
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
        let generator = Generator(channels: trained.channels, generator: RandomGenerator(seed: 0))
        generator.copyWeights(from: trained)
        generator.isTraining = true
        let critic = Critic(channels: trained.channels, generator: rng)
        let betas = (config.beta1, config.beta2)
        let gOptimizer = Adam(parameters: generator.parameters, lr: config.learningRate, betas: betas)
        let dOptimizer = Adam(parameters: critic.parameters, lr: config.learningRate, betas: betas)

        let size = sizes[n], real = scales[n].real, sigma = scales[n].sigma
        let recInput = try upsample(try reconstruction(atScale: n - 1), to: size)
        let zeros = Tensor.zeros([1, 3, size.height, size.width])
        for iteration in 0..<config.iterations {
            if shouldStop() { throw SinGANError.cancelled(checkpoint: nil) }
            let lr = iteration >= config.learningRateDropIteration ? config.learningRate * config.learningRateDecay
                                                                   : config.learningRate
            gOptimizer.lr = lr
            dOptimizer.lr = lr
            let noise = self.noise(scale: n, size: size, rng: rng)
            var previous = zeros
            for _ in 0..<config.criticSteps {
                let sample = try generate(from: 0, through: n - 1, previous: Tensor.zeros([1, 3, sizes[0].height, sizes[0].width]),
                                          sizes: sizes) { k, s in self.noise(scale: k, size: s, rng: rng) }
                previous = palette.quantize(try upsample(sample, to: size))
                let prev = previous
                let fake = withNoGrad { runGenerator(generator, sigma: sigma, noise: noise, previous: prev) }
                let penalty = fineTuningPenalty(critic, real: real, fake: fake, weight: config.gradientPenaltyWeight, rng: rng)
                let loss = (0 - mean(critic(real))) + mean(critic(fake)) + penalty
                fineTuningStep(dOptimizer, loss: loss)
            }
            for _ in 0..<config.generatorSteps {
                let fake = runGenerator(generator, sigma: sigma, noise: noise, previous: previous)
                let adversarial = 0 - mean(critic(fake))
                let rec = runGenerator(generator, sigma: sigma, noise: zeros, previous: recInput)
                let loss = adversarial + config.reconstructionWeight * mean(square(rec - real))
                fineTuningStep(gOptimizer, loss: loss)
                guard loss.item.isFinite else {
                    throw SinGANError.diverged(scale: n, iteration: iteration, loss: "fine-tuning generator loss")
                }
            }
            progress(iteration + 1, config.iterations)
        }
        generator.isTraining = false
        var tuned = scales
        tuned[n] = Scale(generator: generator, sigma: sigma, real: real)
        return SinGANModel(scales: tuned, zStar: zStar, config: self.config, geometry: geometry)
    }
}

/// WGAN-GP with one uniform mixing weight per image, differentiated twice (as in training).
private func fineTuningPenalty(_ critic: Critic, real: Tensor, fake: Tensor, weight: Float,
                               rng: RandomGenerator) -> Tensor {
    let a = rng.uniformScalar()
    let mixed = (a * real + (1 - a) * fake).detached()
    mixed.requiresGrad = true
    let g = gradients(of: critic(mixed), with: [mixed], createGraph: true)[0]
    return weight * mean(square(channelNorm(g) - 1))
}

/// Gradients of `loss` with respect to the optimiser's parameters, then one Adam step.
private func fineTuningStep(_ optimizer: Adam, loss: Tensor) {
    let grads = gradients(of: loss, with: optimizer.parameters)
    for (p, g) in zip(optimizer.parameters, grads) { p.grad = g }
    optimizer.step()
    optimizer.zeroGrad()
}
