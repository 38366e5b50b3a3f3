import Engine
import SinGAN
import TensorAssertions
import XCTest

/// One SinGAN training step against PyTorch (see Fixture.swift).
final class OracleTests: XCTestCase {
    func load(_ module: Module, prefix: String, from fixture: StepFixture) {
        for (name, t) in module.namedTensors {
            let source = fixture.tensor("weights_before", "\(prefix).\(name)")
            XCTAssertEqual(source.shape, t.shape, name)
            t.scalars = source.scalars
        }
    }

    func testOneTrainingStepMatchesPyTorch() throws {
        let fx = try StepFixture()
        let nfc = Int(fx.config("nfc"))
        let rng = RandomGenerator(seed: 1)
        let g = Generator(channels: nfc, rng: rng), d = Critic(channels: nfc, rng: rng)
        load(g, prefix: "G", from: fx)
        load(d, prefix: "D", from: fx)
        // Same names, same number: the fixture's lists and ours describe the same networks.
        XCTAssertEqual(Set(fx.names("weights_before")),
                       Set(g.namedTensors.map { "G.\($0.name)" } + d.namedTensors.map { "D.\($0.name)" }))
        let penaltyCritic = Critic(channels: nfc, rng: rng)
        penaltyCritic.copyWeights(from: d)

        let (sigma, mix, lambda, recWeight) = (fx.config("sigma"), fx.config("gp_mix"), fx.config("gp_weight"),
                                               fx.config("rec_weight"))
        let betas = (Float(0.5), Float(0.999))
        let optD = Adam(parameters: d.parameters, lr: fx.config("lr"), betas: betas, eps: 1e-8)
        let optG = Adam(parameters: g.parameters, lr: fx.config("lr"), betas: betas, eps: 1e-8)
        let real = fx.tensor("inputs", "real"), noise = fx.tensor("inputs", "noise")
        let prev = fx.tensor("inputs", "prev"), recPrev = fx.tensor("inputs", "rec_prev")

        func penalty(_ critic: Critic, _ fake: Tensor) -> Tensor {
            let xh = (mix * real + (1 - mix) * fake.detached()).detached()
            xh.requiresGrad = true
            let grad = gradients(of: sum(critic(xh)), with: [xh], createGraph: true)[0]
            return mean(square(channelNorm(grad) - 1)) * lambda
        }

        // Critic step.
        let p = zeroPad(prev, 5)
        let fake = g(zeroPad(sigma * noise, 5) + p, p)
        assertClose(fake, fx.resultTensor("fake"), tolerance: 1e-5, "fake")
        let errReal = -mean(d(real))
        let errFake = mean(d(fake.detached()))
        let gp = penalty(d, fake)
        XCTAssertEqual(errReal.item, fx.result("err_real"), accuracy: 1e-5)
        XCTAssertEqual(errFake.item, fx.result("err_fake"), accuracy: 1e-5)
        XCTAssertEqual(gp.item, fx.result("gradient_penalty"), accuracy: 1e-6)
        (errReal + errFake + gp).backward()
        checkGradients(of: d, prefix: "D", section: "grads", fx)
        penalty(penaltyCritic, fake).backward()
        checkGradients(of: penaltyCritic, prefix: "D", section: "grads_penalty_only", fx)
        optD.step()

        // Generator step.
        g.zeroGrad()
        d.zeroGrad()
        let fake2 = g(zeroPad(sigma * noise, 5) + p, p)
        let errG = -mean(d(fake2))
        let r = zeroPad(recPrev, 5)
        let recLoss = recWeight * mean(square(g(r, r) - real))
        XCTAssertEqual(errG.item, fx.result("err_g"), accuracy: 1e-5)
        XCTAssertEqual(recLoss.item, fx.result("rec_loss"), accuracy: 1e-4)
        (errG + recLoss).backward()
        checkGradients(of: g, prefix: "G", section: "grads", fx)
        optG.step()

        // Weights after Adam and running statistics after every training-mode pass.
        for (prefix, module) in [("G", g as Module), ("D", d as Module)] {
            for (name, t) in module.namedTensors {
                assertClose(t, fx.tensor("weights_after", "\(prefix).\(name)"), tolerance: 2e-5, floor: 1,
                            "after \(prefix).\(name)")
            }
        }

        // Inference mode uses the running statistics.
        g.isTraining = false
        let evalOut = withNoGrad { g(zeroPad(sigma * noise, 5) + p, p) }
        assertClose(evalOut, fx.resultTensor("eval_output"), tolerance: 1e-5, floor: 1, "eval output")
    }

    /// Compares every parameter gradient of `module` with the fixture's, on the scale of the
    /// module's largest gradient (float32 rounding is relative to the sums that make it).
    ///
    /// A convolution followed by BatchNorm has a bias whose true gradient is exactly 0 (the batch
    /// mean removes it): both engines return rounding noise (~1e-7) there, and Adam turns noise
    /// into steps of ±lr whose sign is arbitrary. So these gradients are checked to be noise, and
    /// then replaced by PyTorch's noise, so that the rest of the step stays comparable.
    func checkGradients(of module: Module, prefix: String, section: String, _ fx: StepFixture,
                        file: StaticString = #filePath, line: UInt = #line) {
        let trainable = module.namedTensors.filter { $0.tensor.requiresGrad }
        let scale = trainable.map { fx.tensor(section, "\(prefix).\($0.name)").scalars.map(abs).max() ?? 0 }.max() ?? 0
        for (name, t) in trainable {
            let expected = fx.tensor(section, "\(prefix).\(name)")
            let actual = t.grad ?? Tensor.zeros(t.shape)
            if name.hasPrefix("b") && name.hasSuffix("conv.b") {
                XCTAssertLessThan(actual.scalars.map(abs).max()!, 1e-5 * scale, "\(section) \(prefix).\(name) is not ~0",
                                  file: file, line: line)
                t.grad = expected
            } else {
                assertClose(actual, expected, tolerance: 1e-4, floor: scale, "\(section) \(prefix).\(name)",
                            file: file, line: line)
            }
        }
    }

    /// Adam alone: PyTorch's gradients applied to the weights before give the weights after.
    func testAdamMatchesPyTorch() throws {
        let fx = try StepFixture()
        for prefix in ["G", "D"] {
            let names = fx.names("grads").filter { $0.hasPrefix(prefix + ".") }.sorted()
            let params = names.map { fx.tensor("weights_before", $0) }
            for (p, name) in zip(params, names) { p.grad = fx.tensor("grads", name) }
            let adam = Adam(parameters: params, lr: fx.config("lr"), betas: (0.5, 0.999), eps: 1e-8)
            adam.step()
            for (p, name) in zip(params, names) {
                assertClose(p, fx.tensor("weights_after", name), tolerance: 1e-6, floor: 1, "Adam \(name)")
            }
        }
    }
}
