import Engine
import SinGAN
import XCTest

final class TrainingStepDeterminismTests: XCTestCase {
    /// Runs of a seeded training step (penalty included) give the same bits, twice with one
    /// thread and once with two: work is split so that no sum depends on the thread count.
    func testSeededTrainingStepIsBitReproducible() {
        let threads = ComputeThreads.count
        defer { ComputeThreads.set(threads) }
        ComputeThreads.set(1)
        let first = seededCriticStep(), second = seededCriticStep()
        ComputeThreads.set(2)
        let third = seededCriticStep()
        for (name, other) in [("a second run", second), ("a run on two threads", third)] {
            XCTAssertEqual(first.count, other.count)
            let differing = zip(first, other).filter { $0.bitPattern != $1.bitPattern }.count
            XCTAssertEqual(differing, 0, "\(differing) of \(first.count) values differ in \(name)")
        }
    }

    /// A seeded critic step with the penalty, at a size that splits every kernel into several work
    /// items; 64 channels, so that the body convolutions take Winograd F(4x4) and the head and
    /// tail F(2x2).
    func seededCriticStep() -> [Float] {
        let rng = RandomGenerator(seed: 11)
        let g = Generator(channels: 64, rng: rng), d = Critic(channels: 64, rng: rng)
        let optD = Adam(parameters: d.parameters, lr: 5e-4, betas: (0.5, 0.999))
        let real = rng.uniform(shape: [1, 3, 24, 24], low: -1, high: 1)
        let noise = zeroPad(rng.normal(shape: [1, 3, 24, 24]), 5)
        let fake = g(noise, Tensor.zeros(noise.shape)).detached()
        let a = rng.uniformScalar()
        let xh = (a * real + (1 - a) * fake).detached()
        xh.requiresGrad = true
        let grad = gradients(of: sum(d(xh)), with: [xh], createGraph: true)[0]
        let loss = -mean(d(real)) + mean(d(fake)) + 0.1 * mean(square(channelNorm(grad) - 1))
        loss.backward()
        optD.step()
        return d.namedTensors.flatMap(\.tensor.scalars) + fake.scalars
    }
}
