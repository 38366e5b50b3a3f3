import Engine

/// Animation (docs/ALGORITHM.md section 4): frames from a random walk in noise space, best with a model
/// trained with noise padding.

/// The parameters of the random walk.
public struct AnimationSettings: Equatable, Sendable {
    /// Pull towards the reconstruction noise (0 = free walk, 1 = still image).
    public var alpha: Double = 0.1
    /// Momentum of the walk: how much of the last step is kept (0...1).
    public var beta: Double = 0.9
    /// The number of frames.
    public var frames: Int = 100
    /// Scales below this one use the reconstruction noise in every frame (so the coarse layout
    /// stays put); from it on each frame walks.
    public var startScale: Int = 2

    public init(alpha: Double = 0.1, beta: Double = 0.9, frames: Int = 100, startScale: Int = 2) {
        self.alpha = alpha
        self.beta = beta
        self.frames = frames
        self.startScale = startScale
    }
}

extension SinGANModel {
    /// The frames of an animation, each [1, 3, h, w] at the finest scale's size. Per scale k with
    /// reconstruction noise Z (z* at scale 0, zeros elsewhere) and fresh noise e at every use:
    /// `z1 = 0.95 Z + 0.05 e`, `z2 = Z`, then per frame `d = beta (z1 - z2) + (1 - beta) e`,
    /// `z = alpha Z + (1 - alpha)(z1 + d)`, `z2 = z1`, `z1 = z`; scales below `startScale` use Z.
    /// Frame f at scale k is G_k on the walk's noise and the upsampled frame f of scale k-1.
    /// `scaleDone(k, count)` is called after every scale.
    public func animationFrames(_ settings: AnimationSettings, rng: RandomGenerator,
                                scaleDone: (Int, Int) throws -> Void = { _, _ in }) throws -> [Tensor] {
        guard settings.frames >= 1 else {
            throw SinGANError.invalidConfiguration(parameter: "frames", reason: "must be at least 1, got \(settings.frames)")
        }
        guard (0...finest).contains(settings.startScale) else {
            throw SinGANError.invalidConfiguration(parameter: "start scale",
                reason: "must be in 0...\(finest) for this \(count)-scale model, got \(settings.startScale)")
        }
        let alpha = Float(settings.alpha), beta = Float(settings.beta)
        var frames: [Tensor] = []
        for k in 0...finest {
            let size = sizes[k]
            let fresh = { self.noise(scale: k, size: size, rng: rng) }
            let z0 = fresh()
            let rest = k == 0 ? zStar : Tensor.zeros(z0.shape)
            var z1 = 0.95 * rest + 0.05 * z0
            var z2 = rest
            var current: [Tensor] = []
            for f in 0..<settings.frames {
                let d = beta * (z1 - z2) + (1 - beta) * fresh()
                let z = alpha * rest + (1 - alpha) * (z1 + d)
                z2 = z1
                z1 = z
                let previous = k == 0 ? Tensor.zeros([1, 3, size.height, size.width])
                                      : try upsample(frames[f], to: size)
                let noise = k < settings.startScale ? rest : z
                current.append(withNoGrad {
                    runGenerator(scales[k].generator, sigma: scales[k].sigma, noise: noise, previous: previous)
                })
            }
            frames = current
            try scaleDone(k, count)
        }
        return frames
    }
}
