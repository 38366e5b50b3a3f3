import Engine
import SinGAN
import XCTest

/// The SinGAN networks as engine modules: weight copies and state loading by name.
final class SinGANNetsTests: XCTestCase {
    func testCopyWeightsCopiesParametersAndStatistics() {
        let rng = RandomGenerator(seed: 9)
        let a = Critic(channels: 4, generator: rng), b = Critic(channels: 4, generator: rng)
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

final class StateTests: XCTestCase {
    func testValidatedTensorAndStateLoading() throws {
        XCTAssertThrowsError(try Tensor(validatingShape: [2, 2], scalars: [1, 2, 3])) { error in
            XCTAssertEqual(error as? TensorError, .countMismatch(shape: [2, 2], count: 3))
        }
        let rng = RandomGenerator(seed: 2)
        let source = Generator(channels: 4, generator: rng), target = Generator(channels: 4, generator: rng)
        var state = Dictionary(uniqueKeysWithValues: source.namedTensors.map { ($0.name, $0.tensor) })
        state["b1.bn.var"] = Tensor.ones([5])
        let before = target.namedTensors.map(\.tensor.scalars)
        XCTAssertThrowsError(try target.load(state)) { error in
            XCTAssertEqual(error as? TensorError, .shapeMismatch(name: "b1.bn.var", expected: [4], found: [5]))
        }
        XCTAssertEqual(target.namedTensors.map(\.tensor.scalars), before, "a failed load must change nothing")
        state["b1.bn.var"] = source.stack.blocks[1].bn.runningVar
        try target.load(state)
        XCTAssertEqual(target.namedTensors.map(\.tensor.scalars), source.namedTensors.map(\.tensor.scalars))
    }
}
