import Engine

/// The generation chain of docs/ALGORITHM.md section 4, as free building blocks and `SinGANModel`
/// methods: random samples, reconstructions, injection of an image at a scale (harmonization,
/// editing, paint to image) and single-generator runs on any size (super-resolution).

/// Zero padding of every generator and critic input: 5 valid 3x3 convolutions shrink by 10.
public let networkPadding = 5

/// A noise map for scale `n` of `size`: N(0, 1), one channel repeated over 3 at scale 0 and 3
/// independent channels elsewhere. With `noisePadding` it is drawn at the padded size
/// (`size` + 10 per axis), otherwise at `size` (and zero-padded when fed to a generator).
public func drawNoise(scale n: Int, size: ImageSize, noisePadding: Bool, rng: RandomGenerator) -> Tensor {
    let extra = noisePadding ? 2 * networkPadding : 0
    let (h, w) = (size.height + extra, size.width + extra)
    if n == 0 { return repeatChannels(rng.normal(shape: [1, 1, h, w]), count: 3) }
    return rng.normal(shape: [1, 3, h, w])
}

/// One generator step: `G(sigma * z + prev, prev)` with `prev` zero-padded, and `z` zero-padded
/// unless it already has the padded size (noise padding). The output has `prev`'s size.
public func runGenerator(_ g: Generator, sigma: Float, noise z: Tensor, previous prev: Tensor) -> Tensor {
    let y = zeroPad(prev, networkPadding)
    let zp = z.shape[2] == prev.shape[2] ? zeroPad(z, networkPadding) : z
    precondition(zp.shape == y.shape, "runGenerator: noise \(z.shape) does not fit the previous image \(prev.shape)")
    return g(sigma * zp + y, y)
}

extension SinGANModel {
    /// Runs G_start ... G_end (inclusive) without recording gradients. `previous` is the image
    /// fed to G_start as its "previous scale" (zeros of `sizes[start]` when start is 0); each
    /// output is upsampled to the next scale's size in `sizes` (see `upsample(_:to:)`). `noise(k,
    /// size)` gives the noise map of scale k (already unscaled: sigma_k is applied here).
    public func generate(from start: Int, through end: Int, previous: Tensor, sizes: [ImageSize],
                         noise: (Int, ImageSize) throws -> Tensor) throws -> Tensor {
        precondition(0 <= start && start <= end && end < scales.count,
                     "generate: scales \(start)...\(end) outside 0...\(scales.count - 1)")
        return try withNoGrad {
            var prev = previous
            var out = previous
            for k in start...end {
                out = runGenerator(scales[k].generator, sigma: scales[k].sigma,
                                   noise: try noise(k, sizes[k]), previous: prev)
                if k < end { prev = try upsample(out, to: sizes[k + 1]) }
            }
            return out
        }
    }

    /// Upsamples an output of one scale to the next scale's `size` the way this model was
    /// trained (`config.upsampling`).
    public func upsample(_ image: Tensor, to size: ImageSize) throws -> Tensor {
        try upsampled(image, to: size, factor: geometry.factor, mode: config.upsampling)
    }

    /// The reconstruction at scale n: G_0 ... G_n on (z*, 0, ..., 0). Its finest-scale output
    /// approximates the training image.
    public func reconstruction(atScale n: Int) throws -> Tensor {
        try generate(from: 0, through: n, previous: Tensor.zeros([1, 3, sizes[0].height, sizes[0].width]),
                     sizes: sizes) { k, size in
            k == 0 ? self.zStar : Tensor.zeros([1, 3, size.height, size.width])
        }
    }

    /// rand(n), the input of G_n's random path: G_0 ... G_n-1 on fresh noise from `rng`,
    /// upsampled to scale n's size; zeros at scale 0. During training the model holds only the
    /// finished scales, so n may be one past `finest` (the geometry has every scale's size).
    public func randomInput(atScale n: Int, rng: RandomGenerator) throws -> Tensor {
        let size = sizes[n]
        guard n > 0 else { return Tensor.zeros([1, 3, size.height, size.width]) }
        let sample = try generate(from: 0, through: n - 1, previous: Tensor.zeros([1, 3, sizes[0].height, sizes[0].width]),
                                  sizes: sizes) { k, s in self.noise(scale: k, size: s, rng: rng) }
        return try upsample(sample, to: size)
    }

    /// A noise map for scale k of `size`, with this model's noise padding choice.
    public func noise(scale k: Int, size: ImageSize, rng: RandomGenerator) -> Tensor {
        drawNoise(scale: k, size: size, noisePadding: config.noisePadding, rng: rng)
    }

    /// Every scale's size multiplied by (scaleV, scaleH), rounded: the sizes of a sample of
    /// another shape.
    public func sizes(scaleH: Double, scaleV: Double) -> [ImageSize] {
        sizes.map { s in
            ImageSize(height: max(1, Int((Double(s.height) * scaleV).rounded())),
                      width: max(1, Int((Double(s.width) * scaleH).rounded())))
        }
    }

    /// A random sample (docs/ALGORITHM.md section 4). Scales below `startScale` follow the
    /// reconstruction path (z*, then zero noise) at the training sizes; their result is
    /// resized to the sample's shape; scales `startScale` and up get fresh noise. The output is
    /// the finest scale's size times (scaleV, scaleH). Deterministic for a given `rng` state.
    public func sample(startScale: Int = 0, scaleH: Double = 1, scaleV: Double = 1,
                       rng: RandomGenerator) throws -> Tensor {
        try checkSampleOptions(startScale: startScale, scaleH: scaleH, scaleV: scaleV)
        let target = sizes(scaleH: scaleH, scaleV: scaleV)
        var previous = Tensor.zeros([1, 3, target[0].height, target[0].width])
        if startScale > 0 {
            let rec = try reconstruction(atScale: startScale - 1)
            let up = try upsample(rec, to: sizes[startScale])
            previous = try resized(up, to: target[startScale])
        }
        return try generate(from: startScale, through: finest, previous: previous, sizes: target) { k, size in
            self.noise(scale: k, size: size, rng: rng)
        }
    }

    /// Fails with `SinGANError.invalidConfiguration` unless `sample` accepts these options:
    /// a start scale of this model and finite positive size factors.
    public func checkSampleOptions(startScale: Int, scaleH: Double, scaleV: Double) throws {
        guard (0..<scales.count).contains(startScale) else {
            throw SinGANError.invalidConfiguration(parameter: "start-scale",
                reason: "must be in 0...\(scales.count - 1), got \(startScale)")
        }
        guard scaleH > 0, scaleV > 0, scaleH.isFinite, scaleV.isFinite else {
            throw SinGANError.invalidConfiguration(parameter: "scale-h/scale-v",
                reason: "must be positive, got \(scaleH), \(scaleV)")
        }
    }

    /// Injects an image at scale n (1 <= n <= finest) and runs G_n ... G_finest with fresh noise:
    /// the reference is resized to scale n-1, upsampled to scale n, then refined.
    /// Harmonization, editing and paint to image use this (docs/ALGORITHM.md section 4).
    public func generate(injecting reference: Tensor, atScale n: Int, rng: RandomGenerator) throws -> Tensor {
        guard (1...max(1, finest)).contains(n), n <= finest else {
            throw SinGANError.invalidConfiguration(parameter: "injection scale",
                reason: "must be in 1...\(finest), got \(n)")
        }
        let coarse = try resized(reference, to: sizes[n - 1])
        let previous = try upsample(coarse, to: sizes[n])
        return try generate(from: n, through: finest, previous: previous, sizes: sizes) { k, size in
            self.noise(scale: k, size: size, rng: rng)
        }
    }

    /// Runs G_n alone on `previous` of any size, with fresh noise of that size scaled by
    /// sigma_n (super-resolution runs the finest generator this way, repeatedly).
    public func refine(_ previous: Tensor, withScale n: Int, rng: RandomGenerator) -> Tensor {
        let size = ImageSize(height: previous.shape[2], width: previous.shape[3])
        return withNoGrad {
            runGenerator(scales[n].generator, sigma: scales[n].sigma,
                         noise: noise(scale: n, size: size, rng: rng), previous: previous)
        }
    }
}
