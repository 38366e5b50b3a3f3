import Engine
import XCTest

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
        assertSameBitsOnOneAndTwoThreads(run)
    }

    /// The convolutions at 32 channels (filter transforms and the weight gradient's last sums split
    /// over the workers) and a libm map above its lower threshold (tanh of 3 x 58 x 58 values) give
    /// the same bits on one thread and on two.
    func testConvolutionsAndLibmMapsDoNotDependOnTheThreadCount() {
        func run() -> [[Float]] {
            let rng = RandomGenerator(seed: 5)
            let x = rng.normal(shape: [1, 32, 62, 62]), weight = rng.normal(shape: [32, 32, 3, 3]) * 0.1
            let last = rng.normal(shape: [3, 32, 3, 3]) * 0.1
            for t in [x, weight, last] { t.requiresGrad = true }
            let y = tanh(conv2d(leakyReLU(conv2d(x, weight: weight)), weight: last))
            let loss = sum(square(y))
            loss.backward()
            return [y.scalars, [loss.item]] + [x, weight, last].map { $0.grad!.scalars }
        }
        assertSameBitsOnOneAndTwoThreads(run)
    }

    /// Runs `run` on one thread and on two and checks that every result has the same bits.
    private func assertSameBitsOnOneAndTwoThreads(_ run: () -> [[Float]], file: StaticString = #filePath,
                                                  line: UInt = #line) {
        let threads = ComputeThreads.count
        defer { ComputeThreads.set(threads) }
        ComputeThreads.set(1)
        let one = run()
        ComputeThreads.set(2)
        let two = run()
        for (k, (a, b)) in zip(one, two).enumerated() {
            XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), "result \(k) differs between 1 and 2 threads",
                           file: file, line: line)
        }
    }
}
