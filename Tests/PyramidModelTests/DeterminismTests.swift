import XCTest
import PyramidModel

final class DeterminismTests: XCTestCase {
    func testRandomGeneratorIsSeededAndRestorable() {
        let a = RandomGenerator(seed: 42), b = RandomGenerator(seed: 42)
        XCTAssertEqual(a.normal(shape: [101]).scalars, b.normal(shape: [101]).scalars)
        XCTAssertNotEqual(RandomGenerator(seed: 43).normal(shape: [8]).scalars, a.normal(shape: [8]).scalars)
        let saved = a.state
        let first = a.uniform(shape: [50], low: -1, high: 1).scalars + [a.uniformScalar()]
        a.state = saved
        XCTAssertEqual(a.uniform(shape: [50], low: -1, high: 1).scalars + [a.uniformScalar()], first)
    }

    func testRandomGeneratorDistributions() {
        let rng = RandomGenerator(seed: 5)
        let n = rng.normal(shape: [20000], mean: 1, std: 2).scalars
        let m = n.reduce(0, +) / Float(n.count)
        let v = n.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Float(n.count)
        XCTAssertEqual(m, 1, accuracy: 0.05)
        XCTAssertEqual(v, 4, accuracy: 0.15)
        let u = rng.uniform(shape: [20000], low: -1, high: 3).scalars
        XCTAssertTrue(u.allSatisfy { $0 >= -1 && $0 < 3 })
        XCTAssertEqual(u.reduce(0, +) / Float(u.count), 1, accuracy: 0.05)
    }

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
        let g = Generator(channels: 64, generator: rng), d = Critic(channels: 64, generator: rng)
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

    /// Tensors large enough for the element-wise ops to split over threads give the same bits on
    /// one thread and on two, forward and backward (so the split never changes a result).
    func testLargeElementwiseOpsDoNotDependOnTheThreadCount() {
        func run() -> [[Float]] {
            let rng = RandomGenerator(seed: 3)
            let a = rng.normal(shape: [1, 8, 96, 100]), b = rng.normal(shape: [1, 8, 96, 100])
            let channel = rng.normal(shape: [1, 8, 1, 1])
            let gamma = rng.uniform(shape: [8], low: 0.5, high: 1.5), beta = rng.normal(shape: [8])
            for t in [a, channel, gamma, beta] { t.requiresGrad = true }
            let y = batchNormLeakyReLU(a * channel + b, gamma: gamma, beta: beta,
                                       runningMean: Tensor.zeros([8]), runningVar: Tensor.zeros([8]) + 1,
                                       training: true)
            let z = square(leakyReLU(y * 3 + 1)) - expand(channel, to: a.shape) / 2
            let loss = sum(channelNorm(z)) + sum(sum(z, axes: [0, 2, 3]))
            loss.backward()
            return [y.scalars, z.scalars, [loss.item]] + [a, channel, gamma, beta].map { $0.grad!.scalars }
        }
        let threads = ComputeThreads.count
        defer { ComputeThreads.set(threads) }
        ComputeThreads.set(1)
        let one = run()
        ComputeThreads.set(2)
        let two = run()
        for (k, (x, y)) in zip(one, two).enumerated() {
            XCTAssertEqual(x.map(\.bitPattern), y.map(\.bitPattern), "result \(k) differs between 1 and 2 threads")
        }
    }
}
