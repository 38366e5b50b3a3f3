import Engine

/// One SinGAN training iteration at a single scale, as `shared/tools/torch_reference_bench.py`
/// runs it: 3 critic steps with the WGAN-GP penalty (double backward), then 3 generator steps
/// with adversarial and reconstruction (weight 10) losses, Adam (lr 5e-4, betas 0.5, 0.999).
/// The frozen coarser scales are stood in for by uniform random images, as in the reference.
///
/// Two pieces of work whose results the reference discards are skipped: the generator's graph
/// during critic steps (the fake image is detached there) and the critic's weight gradients
/// during generator steps (the critic's gradients are zeroed before its next use).
public final class TrainingBench {
    public let height: Int, width: Int
    let generator: Generator, critic: Critic
    let optG: Adam, optD: Adam
    let rng: RandomGenerator
    let real: Tensor, recPrev: Tensor
    let sigma: Float = 0.1

    public init(height: Int, width: Int, channels: Int, seed: UInt64 = 0) {
        self.height = height
        self.width = width
        rng = RandomGenerator(seed: seed)
        generator = Generator(channels: channels, generator: rng)
        critic = Critic(channels: channels, generator: rng)
        optG = Adam(parameters: generator.parameters, lr: 5e-4, betas: (0.5, 0.999))
        optD = Adam(parameters: critic.parameters, lr: 5e-4, betas: (0.5, 0.999))
        real = rng.uniform(shape: [1, 3, height, width], low: -1, high: 1)
        recPrev = zeroPad(rng.uniform(shape: [1, 3, height, width], low: -1, high: 1), 5)
    }

    /// WGAN-GP: 0.1 · mean((‖∂ΣD(x̂)/∂x̂‖ over channels − 1)²) at x̂ = a·real + (1−a)·fake.
    func penalty(_ fake: Tensor) -> Tensor {
        let a = rng.uniformScalar()
        let xh = (a * real + (1 - a) * fake).detached()
        xh.requiresGrad = true
        let g = gradients(of: sum(critic(xh)), with: [xh], createGraph: true)[0]
        return mean(square(channelNorm(g) - 1)) * 0.1
    }

    /// Runs one iteration; returns the last critic and generator losses.
    @discardableResult
    public func iteration() -> (critic: Float, generator: Float) {
        let noise = zeroPad(rng.normal(shape: [1, 3, height, width]), 5)
        var prev = Tensor.zeros(noise.shape)
        var lossD: Float = 0, lossG: Float = 0
        critic.setRequiresGrad(true)
        for _ in 0..<3 {
            prev = zeroPad(rng.uniform(shape: [1, 3, height, width], low: -1, high: 1), 5)
            optD.zeroGrad()
            let fake = withNoGrad { generator(sigma * noise + prev, prev) }
            let loss = -mean(critic(real)) + mean(critic(fake)) + penalty(fake)
            loss.backward()
            optD.step()
            lossD = loss.item
        }
        critic.setRequiresGrad(false)
        for _ in 0..<3 {
            optG.zeroGrad()
            let fake = generator(sigma * noise + prev, prev)
            let rec = generator(recPrev, recPrev)
            let loss = -mean(critic(fake)) + 10 * mean(square(rec - real))
            loss.backward()
            optG.step()
            lossG = loss.item
        }
        critic.setRequiresGrad(true)
        return (lossD, lossG)
    }
}
