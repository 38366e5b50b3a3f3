import Engine
import XCTest

/// Finite-difference checks of first and second derivatives (PyTorch's gradcheck and
/// gradgradcheck) in float32: central differences with step `h`, compared with a tolerance
/// relative to the larger of 1 and the value.
struct GradCheck {
    var h: Float = 1e-2
    var tolerance: Float = 1e-2
    var seed: UInt64 = 7

    /// Checks ∂f/∂inputs; with `secondOrder`, also ∂/∂inputs (Σ_k ⟨∂f/∂input_k, v_k⟩) for random v.
    func check(_ inputs: [Tensor], secondOrder: Bool = true, _ name: String,
               file: StaticString = #filePath, line: UInt = #line, _ f: @escaping ([Tensor]) -> Tensor) {
        for t in inputs { t.requiresGrad = true }
        let first = gradients(of: f(inputs), with: inputs)
        compare(first, numeric(inputs) { withNoGrad { f(inputs) }.item }, "\(name) first order", file, line)
        // Comparing zeros with zeros would prove nothing.
        XCTAssertTrue(first.contains { $0.scalars.contains { abs($0) > 1e-3 } }, "\(name): all gradients vanish",
                      file: file, line: line)
        guard secondOrder else { return }

        let rng = RandomGenerator(seed: seed)
        let directions = inputs.map { rng.normal(shape: $0.shape) }
        func projected(createGraph: Bool) -> Tensor {
            let g = gradients(of: f(inputs), with: inputs, createGraph: createGraph)
            return zip(g, directions).map { sum($0 * $1) }.reduce(Tensor(0), +)
        }
        let second = gradients(of: projected(createGraph: true), with: inputs)
        compare(second, numeric(inputs) { projected(createGraph: false).item }, "\(name) second order", file, line)
    }

    /// Central differences of `value` with respect to every element of every input.
    private func numeric(_ inputs: [Tensor], _ value: () -> Float) -> [[Float]] {
        inputs.map { t in
            (0..<t.count).map { i in
                let saved = t.scalars[i]
                t.scalars[i] = saved + h
                let plus = value()
                t.scalars[i] = saved - h
                let minus = value()
                t.scalars[i] = saved
                return (plus - minus) / (2 * h)
            }
        }
    }

    private func compare(_ analytic: [Tensor], _ numeric: [[Float]], _ what: String,
                         _ file: StaticString, _ line: UInt) {
        for (k, (a, n)) in zip(analytic, numeric).enumerated() {
            XCTAssertEqual(a.count, n.count, "\(what): input \(k) gradient size", file: file, line: line)
            var worst = (index: 0, error: Float(0))
            for i in 0..<min(a.count, n.count) {
                let err = abs(a.scalars[i] - n[i]) / max(1, abs(n[i]))
                if err > worst.error { worst = (i, err) }
            }
            if worst.error > tolerance {
                let i = worst.index
                XCTFail("\(what): input \(k) element \(i): analytic \(a.scalars[i]), numeric \(n[i])", file: file, line: line)
            }
        }
    }
}

/// Random test inputs.
enum Sample {
    static func normal(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
        RandomGenerator(seed: seed).normal(shape: shape, std: scale)
    }

    /// Values bounded away from 0 (for ops with a kink or pole there).
    static func awayFromZero(_ shape: [Int], seed: UInt64, margin: Float = 0.2) -> Tensor {
        let t = normal(shape, seed: seed)
        t.scalars = t.scalars.map { $0 >= 0 ? $0 + margin : $0 - margin }
        return t
    }

    static func positive(_ shape: [Int], seed: UInt64) -> Tensor {
        RandomGenerator(seed: seed).uniform(shape: shape, low: 0.5, high: 2)
    }
}
