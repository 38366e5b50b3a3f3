import Engine
import TensorAssertions
import XCTest

/// First- and second-order finite-difference checks of every op, alone.
/// A scalar loss with non-zero first and second derivatives in every output element:
/// Σ (w1·y + w2·y²) with fixed random weights.
func loss(_ y: Tensor, seed: UInt64 = 99) -> Tensor {
    let w1 = Sample.normal(y.shape, seed: seed), w2 = Sample.normal(y.shape, seed: seed + 1, scale: 0.5)
    return sum(w1 * y + w2 * square(y))
}

final class OpGradientTests: XCTestCase {
    let check = GradCheck()

    func testBinaryOpsWithBroadcasting() {
        let shapes: [([Int], [Int])] = [([2, 3, 4, 5], [2, 3, 4, 5]), ([2, 3, 4, 5], [1, 3, 1, 1]),
                                        ([1, 3, 1, 1], [2, 3, 4, 5]), ([2, 3, 4, 5], [])]
        for (sa, sb) in shapes {
            check.check([Sample.normal(sa, seed: 1), Sample.normal(sb, seed: 2)], "add \(sa) \(sb)") { loss($0[0] + $0[1]) }
            check.check([Sample.normal(sa, seed: 1), Sample.normal(sb, seed: 2)], "sub \(sa) \(sb)") { loss($0[0] - $0[1]) }
            check.check([Sample.normal(sa, seed: 1), Sample.normal(sb, seed: 2)], "mul \(sa) \(sb)") { loss($0[0] * $0[1]) }
            check.check([Sample.normal(sa, seed: 1), Sample.positive(sb, seed: 2)], "div \(sa) \(sb)") { loss($0[0] / $0[1]) }
            check.check([Sample.normal(sa, seed: 1), Sample.positive(sb, seed: 2)], "divNoNan \(sa) \(sb)") {
                loss(divNoNan($0[0], $0[1]))
            }
        }
    }

    func testScalarOps() {
        let x = { Sample.normal([2, 3, 4], seed: 3) }
        check.check([x()], "tensor + float") { loss($0[0] + 1.5) }
        check.check([x()], "float - tensor") { loss(2 - $0[0]) }
        check.check([x()], "tensor * float") { loss($0[0] * -0.7) }
        check.check([x()], "tensor / float") { loss($0[0] / 3) }
        check.check([Sample.positive([2, 3], seed: 4)], "float / tensor") { loss(2 / $0[0]) }
        check.check([x()], "negation") { loss(-$0[0]) }
    }

    func testUnaryOps() {
        check.check([Sample.normal([2, 3, 4], seed: 5)], "square") { loss(square($0[0])) }
        check.check([Sample.positive([2, 3, 4], seed: 6)], "sqrt") { loss(sqrt($0[0])) }
        check.check([Sample.positive([2, 3, 4], seed: 7)], "pow 1.5") { loss(pow($0[0], 1.5)) }
        check.check([Sample.normal([2, 3, 4], seed: 8)], "pow 2") { loss(pow($0[0], 2)) }
        check.check([Sample.normal([2, 3, 4], seed: 9)], "tanh") { loss(tanh($0[0])) }
        check.check([Sample.awayFromZero([2, 3, 4], seed: 10)], "leakyReLU") { loss(leakyReLU($0[0], slope: 0.2)) }
    }

    func testReductions() {
        let x = { Sample.normal([2, 3, 4, 5], seed: 11) }
        check.check([x()], "sum all") { loss(sum($0[0])) }
        check.check([x()], "mean all") { loss(mean($0[0])) }
        for axes in [[0], [1], [0, 2, 3], [2, 3], [-1]] {
            check.check([x()], "sum \(axes)") { loss(sum($0[0], axes: axes)) }
            check.check([x()], "mean \(axes) keepDims") { loss(mean($0[0], axes: axes, keepDims: true)) }
        }
        check.check([Sample.normal([3, 1, 5], seed: 12)], "expand") { loss(expand($0[0], to: [2, 3, 4, 5])) }
        check.check([x()], "reshape") { loss(reshape($0[0], [6, 20])) }
    }

    func testChannelNorm() {
        check.check([Sample.normal([2, 3, 4, 5], seed: 13)], "channelNorm") { loss(channelNorm($0[0])) }
        check.check([Sample.normal([1, 4, 3, 3], seed: 14)], "channelNorm keepDims") {
            loss(channelNorm($0[0], keepDims: true))
        }
    }

    func testChannelNormAtZeroIsFinite() {
        // One pixel has an all-zero channel vector: the norm is 0 there and its gradient is 0.
        let x = Sample.normal([1, 3, 2, 2], seed: 15)
        for c in 0..<3 { x.scalars[c * 4] = 0 }
        x.requiresGrad = true
        let n = channelNorm(x)
        XCTAssertEqual(n.scalars[0], 0)
        let g = gradients(of: sum(square(n - 1)), with: [x], createGraph: true)[0]
        XCTAssertTrue(g.scalars.allSatisfy(\.isFinite))
        for c in 0..<3 { XCTAssertEqual(g.scalars[c * 4], 0) }
        let gg = gradients(of: sum(square(g)), with: [x])[0]
        XCTAssertTrue(gg.scalars.allSatisfy(\.isFinite))
    }

    func testPadCropRepeat() {
        check.check([Sample.normal([2, 3, 4, 5], seed: 16)], "zeroPad") { loss(zeroPad($0[0], 2)) }
        check.check([Sample.normal([2, 3, 7, 8], seed: 17)], "crop") { loss(crop($0[0], 2)) }
        check.check([Sample.normal([2, 1, 4, 5], seed: 18)], "repeatChannels") { loss(repeatChannels($0[0], count: 3)) }
    }

    func testConvolution() {
        // Inputs scaled so that the loss stays O(1): its float32 rounding, divided by the step,
        // must stay below the tolerance. F(4x4)'s rounding (5-7e-6 of the largest output, 20 times
        // F(2x2)'s) put unit-scale inputs' second-order differences 2-4% off.
        let x = { Sample.normal([2, 3, 6, 7], seed: 19, scale: 0.3) }
        let w = { Sample.normal([4, 3, 3, 3], seed: 20, scale: 0.3) }
        let b = { Sample.normal([4], seed: 21) }
        check.check([x(), w(), b()], "conv2d") { loss(conv2d($0[0], weight: $0[1], bias: $0[2])) }
        check.check([x(), w()], "conv2d without bias") { loss(conv2d($0[0], weight: $0[1])) }
        let gy = { Sample.normal([2, 4, 4, 5], seed: 22, scale: 0.3) }
        check.check([gy(), w()], "convInputGrad") { loss(convInputGrad($0[0], weight: $0[1])) }
        // Outputs sum 40 products.
        check.check([x(), gy()], "convWeightGrad") { loss(convWeightGrad($0[0], $0[1])) }
    }

    func testConvolutionKernelsAgainstDirectSums() {
        // conv2d against the definition, so the gradient checks rest on a correct forward.
        let x = Sample.normal([1, 2, 5, 6], seed: 23), w = Sample.normal([3, 2, 3, 3], seed: 24)
        let b = Sample.normal([3], seed: 25)
        let y = conv2d(x, weight: w, bias: b)
        XCTAssertEqual(y.shape, [1, 3, 3, 4])
        for o in 0..<3 { for i in 0..<3 { for j in 0..<4 {
            var s = b.scalars[o]
            for c in 0..<2 { for ky in 0..<3 { for kx in 0..<3 {
                s += x.scalars[(c * 5 + i + ky) * 6 + j + kx] * w.scalars[((o * 2 + c) * 3 + ky) * 3 + kx]
            } } }
            XCTAssertEqual(y.scalars[(o * 3 + i) * 4 + j], s, accuracy: 1e-4)
        } } }
    }

    func testBatchNormTraining() {
        let running = { (Tensor.zeros([3]), Tensor.ones([3])) }
        check.check([Sample.normal([2, 3, 4, 5], seed: 26), Sample.normal([3], seed: 27), Sample.normal([3], seed: 28)],
                    "batchNorm training") { t in
            let (m, v) = running()
            return loss(batchNorm(t[0], gamma: t[1], beta: t[2], runningMean: m, runningVar: v, training: true))
        }
        // Batch of one: statistics over the spatial positions, as SinGAN trains.
        check.check([Sample.normal([1, 2, 4, 4], seed: 29), Sample.normal([2], seed: 30), Sample.normal([2], seed: 31)],
                    "batchNorm training, batch of 1") { t in
            let (m, v) = running()
            return loss(batchNorm(t[0], gamma: t[1], beta: t[2], runningMean: m, runningVar: v, training: true))
        }
    }

    /// The fused training-mode kernel (forward, fused first-order backward) against the composite.
    func testFusedBatchNormMatchesComposite() {
        let x = Sample.normal([2, 3, 5, 6], seed: 37, scale: 2), gamma = Sample.normal([3], seed: 38)
        let beta = Sample.normal([3], seed: 39)
        for t in [x, gamma, beta] { t.requiresGrad = true }
        let fused = batchNorm(x, gamma: gamma, beta: beta, runningMean: Tensor.zeros([3]), runningVar: Tensor.ones([3]),
                              training: true)
        let composite = batchNormComposite(x, gamma: gamma, beta: beta)
        assertClose(fused, composite, tolerance: 1e-5, floor: 1, "forward")
        let seed = Sample.normal(x.shape, seed: 40)
        let a = gradients(of: fused, with: [x, gamma, beta], seed: seed)
        let b = gradients(of: composite, with: [x, gamma, beta], seed: seed)
        for (k, (u, v)) in zip(a, b).enumerated() { assertClose(u, v, tolerance: 1e-5, floor: 1, "gradient \(k)") }
    }

    func testFusedBatchNormLeakyReLUMatchesComposite() {
        let x = Sample.normal([2, 3, 5, 6], seed: 44, scale: 2), gamma = Sample.normal([3], seed: 45)
        let beta = Sample.normal([3], seed: 46)
        for t in [x, gamma, beta] { t.requiresGrad = true }
        let fused = batchNormLeakyReLU(x, gamma: gamma, beta: beta, runningMean: Tensor.zeros([3]),
                                       runningVar: Tensor.ones([3]), training: true, slope: 0.2)
        let composite = leakyReLU(batchNormComposite(x, gamma: gamma, beta: beta), slope: 0.2)
        assertClose(fused, composite, tolerance: 1e-5, floor: 1, "forward")
        let seed = Sample.normal(x.shape, seed: 47)
        let a = gradients(of: fused, with: [x, gamma, beta], seed: seed)
        let b = gradients(of: composite, with: [x, gamma, beta], seed: seed)
        for (k, (u, v)) in zip(a, b).enumerated() { assertClose(u, v, tolerance: 1e-5, floor: 1, "gradient \(k)") }
    }

    /// Second derivatives of the fused op (its recorded backward) against those of the composite.
    func testFusedBatchNormSecondOrderMatchesComposite() {
        for slope: Float? in [nil, 0.2] {
            let x = Sample.normal([2, 3, 5, 6], seed: 56, scale: 2), gamma = Sample.normal([3], seed: 57)
            let beta = Sample.normal([3], seed: 58)
            for t in [x, gamma, beta] { t.requiresGrad = true }
            let seed = Sample.normal(x.shape, seed: 59)
            let directions = [x, gamma, beta].enumerated().map { Sample.normal($0.element.shape, seed: 60 + UInt64($0.offset)) }
            func secondOrder(_ y: Tensor) -> [Tensor] {
                let g = gradients(of: y, with: [x, gamma, beta], seed: seed, createGraph: true)
                return gradients(of: zip(g, directions).map { sum($0 * $1) }.reduce(Tensor(0), +), with: [x, gamma, beta])
            }
            let (m, v) = (Tensor.zeros([3]), Tensor.ones([3]))
            let fused = slope.map { batchNormLeakyReLU(x, gamma: gamma, beta: beta, runningMean: m, runningVar: v,
                                                       training: true, slope: $0) }
                ?? batchNorm(x, gamma: gamma, beta: beta, runningMean: m, runningVar: v, training: true)
            let plain = batchNormComposite(x, gamma: gamma, beta: beta)
            let composite = slope.map { leakyReLU(plain, slope: $0) } ?? plain
            for (k, (a, b)) in zip(secondOrder(fused), secondOrder(composite)).enumerated() {
                assertClose(a, b, tolerance: 1e-4, floor: 1, "slope \(String(describing: slope)) input \(k)")
            }
        }
    }

    /// The gradient penalty's case: the input gradient alone, recorded, is one fused op
    /// (`batchNormInputGradient`). Its values, its fused backward (x, γ, β) and, one order higher,
    /// the composite it falls back to, against the same quantities of the composite.
    func testBatchNormInputGradientMatchesComposite() {
        for slope: Float? in [nil, 0.2] {
            let x = Sample.normal([2, 3, 5, 6], seed: 63, scale: 2), gamma = Sample.normal([3], seed: 64)
            let beta = Sample.normal([3], seed: 65)
            for t in [x, gamma, beta] { t.requiresGrad = true }
            let seed = Sample.normal(x.shape, seed: 66), direction = Sample.normal(x.shape, seed: 67)
            func orders(_ y: () -> Tensor) -> [Tensor] {
                // A penalty nonlinear in gx, so that its gradient needs gx's own derivatives.
                func penalty() -> Tensor {
                    sum(square(gradients(of: y(), with: [x], seed: seed, createGraph: true)[0] * direction))
                }
                let gx = gradients(of: y(), with: [x], seed: seed, createGraph: true)[0]
                let second = gradients(of: penalty(), with: [x, gamma, beta])
                let recorded = gradients(of: penalty(), with: [x, gamma], createGraph: true)
                let third = gradients(of: sum(square(recorded[0])) + sum(square(recorded[1])), with: [x, gamma])
                return [gx] + second + third
            }
            let (m, v) = (Tensor.zeros([3]), Tensor.ones([3]))
            let fused = orders {
                slope.map { batchNormLeakyReLU(x, gamma: gamma, beta: beta, runningMean: m, runningVar: v,
                                               training: true, slope: $0) }
                    ?? batchNorm(x, gamma: gamma, beta: beta, runningMean: m, runningVar: v, training: true)
            }
            let composite = orders {
                let plain = batchNormComposite(x, gamma: gamma, beta: beta)
                return slope.map { leakyReLU(plain, slope: $0) } ?? plain
            }
            let names = ["gx", "d/dx", "d/dgamma", "d/dbeta", "third order x", "third order gamma"]
            for (k, (a, b)) in zip(fused, composite).enumerated() {
                assertClose(a, b, tolerance: 1e-4, floor: 1, "slope \(String(describing: slope)) \(names[k])")
            }
        }
    }

    func testBatchNormLeakyReLU() {
        check.check([Sample.normal([2, 3, 4, 5], seed: 48), Sample.normal([3], seed: 49), Sample.normal([3], seed: 50)],
                    "batchNormLeakyReLU training") { t in
            loss(batchNormLeakyReLU(t[0], gamma: t[1], beta: t[2], runningMean: Tensor.zeros([3]),
                                    runningVar: Tensor.ones([3]), training: true, slope: 0.2))
        }
        // Inference: x chosen so that every normalised value is at least 0.2 away from the kink.
        let m = Sample.normal([3], seed: 51), v = Sample.positive([3], seed: 52)
        let gamma = Sample.awayFromZero([3], seed: 54, margin: 0.5), beta = Sample.normal([3], seed: 55)
        let y = Sample.awayFromZero([2, 3, 4, 5], seed: 53)
        let x = Tensor(shape: y.shape, scalars: y.scalars.indices.map { i in
            let ch = (i / 20) % 3
            return (y.scalars[i] - beta.scalars[ch]) / gamma.scalars[ch] * (v.scalars[ch] + 1e-5).squareRoot() + m.scalars[ch]
        })
        check.check([x, gamma, beta], "batchNormLeakyReLU inference") { t in
            loss(batchNormLeakyReLU(t[0], gamma: t[1], beta: t[2], runningMean: m, runningVar: v, training: false))
        }
    }

    func testChannelAffine() {
        check.check([Sample.normal([2, 3, 4, 5], seed: 41), Sample.normal([3], seed: 42), Sample.normal([3], seed: 43)],
                    "channelAffine") { loss(channelAffine($0[0], scale: $0[1], shift: $0[2])) }
    }

    func testBatchNormInference() {
        let m = Sample.normal([3], seed: 32), v = Sample.positive([3], seed: 33)
        check.check([Sample.normal([2, 3, 4, 5], seed: 34), Sample.normal([3], seed: 35), Sample.normal([3], seed: 36)],
                    "batchNorm inference") { t in
            loss(batchNorm(t[0], gamma: t[1], beta: t[2], runningMean: m, runningVar: v, training: false))
        }
    }
}
