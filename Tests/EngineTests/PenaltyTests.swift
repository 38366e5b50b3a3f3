import Engine
import XCTest

/// The WGAN-GP penalty differentiated with respect to a tiny critic's weights (a true second
/// derivative), against finite differences.
final class PenaltyTests: XCTestCase {
    func testPenaltyGradientOnTinyCriticMatchesFiniteDifferences() {
        let rng = RandomGenerator(seed: 3)
        let b0 = ConvBlock(inChannels: 3, outChannels: 4, rng: rng)
        let b1 = ConvBlock(inChannels: 4, outChannels: 4, rng: rng)
        let tail = Conv2d(inChannels: 4, outChannels: 1, rng: rng)
        // Larger weights than SinGAN's N(0, 0.02) so that the penalty is far from flat.
        for p in [b0.conv.weight, b1.conv.weight, tail.weight] {
            p.scalars = rng.normal(shape: p.shape, std: 0.3).scalars
        }
        let xh = rng.uniform(shape: [1, 3, 8, 8], low: -1, high: 1)
        xh.requiresGrad = true
        let weights = b0.parameters + b1.parameters + tail.parameters

        func penalty() -> Tensor {
            let out = tail(b1(b0(xh)))
            let g = gradients(of: sum(out), with: [xh], createGraph: true)[0]
            return mean(square(channelNorm(g) - 1))
        }
        let analytic = gradients(of: penalty(), with: weights)
        let h: Float = 1e-2
        var checked = 0
        for (p, a) in zip(weights, analytic) {
            for i in 0..<p.count {
                let saved = p.scalars[i]
                p.scalars[i] = saved + h
                let plus = penalty().item
                p.scalars[i] = saved - h
                let minus = penalty().item
                p.scalars[i] = saved
                let numeric = (plus - minus) / (2 * h)
                XCTAssertEqual(a.scalars[i], numeric, accuracy: 2e-3 * max(1, abs(numeric)), "parameter \(p.shape) element \(i)")
                if abs(numeric) > 1e-3 { checked += 1 }
            }
        }
        XCTAssertGreaterThan(checked, 100, "too few non-zero derivatives to make the check meaningful")
    }
}
