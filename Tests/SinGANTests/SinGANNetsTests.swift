import Engine
import SinGAN
import XCTest

/// The SinGAN networks as engine modules: weight copies.
final class SinGANNetsTests: XCTestCase {
    func testCopyWeightsCopiesParametersAndStatistics() {
        let rng = RandomGenerator(seed: 9)
        let a = Critic(channels: 4, rng: rng), b = Critic(channels: 4, rng: rng)
        _ = a(rng.normal(shape: [1, 3, 12, 12]))  // moves a's running statistics
        b.copyWeights(from: a)
        for (x, y) in zip(a.namedTensors, b.namedTensors) {
            XCTAssertEqual(x.name, y.name)
            XCTAssertEqual(x.tensor.scalars, y.tensor.scalars, x.name)
        }
        XCTAssertEqual(a.parameters.count, 18)
        XCTAssertEqual(a.namedTensors.count, 26)
    }
}
