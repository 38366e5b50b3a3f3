import Foundation
import XCTest
import Engine
@testable import SinGAN
import TensorAssertions

/// The `fast` preset's training changes: windows, a bank of random inputs, a lazy penalty and
/// per-scale schedules, BatchNorm statistics recomputed on whole images. The paper path through
/// `TrainingStep` is covered by the training tests (bit-exact resume, determinism) and the
/// PyTorch oracle.
final class FastTrainingTests: XCTestCase {
    /// The tiny test settings with every `fast` mechanism switched on: windows smaller than
    /// every scale, a coarse schedule for the two coarsest scales, a bank at the finer scales
    /// (the coarse ones draw rand(n) anew, as `fast`'s do), a lazy penalty,
    /// recomputed BatchNorm statistics.
    static var config: TrainingConfig {
        var c = TinySinGAN.config
        c.iterations = 8
        c.criticSteps = 1
        c.generatorSteps = 1
        c.coarseSide = 34
        c.coarseSchedule = StepSchedule(iterations: 12, criticSteps: 2, generatorSteps: 1)
        c.cropSize = 20
        c.randomInputBank = 3
        c.coarseRandomInputBank = false
        c.penaltyInterval = 2
        c.normalizationPasses = 3
        c.checkpointInterval = 5
        return c
    }

    /// The generator is fully convolutional: on a window grown by the network's padding it gives
    /// exactly the window of its whole-image output (batch statistics aside: eval mode here).
    func testGeneratorOnAPaddedWindowGivesThatWindowOfTheWholeOutput() {
        let rng = RandomGenerator(seed: 5)
        let g = Generator(channels: 8, rng: rng)
        g.isTraining = false
        let size = ImageSize(height: 30, width: 41)
        let prev = rng.uniform(shape: [1, 3, size.height, size.width], low: -1, high: 1)
        let noise = rng.normal(shape: [1, 3, size.height, size.width])
        let whole = withNoGrad { runGenerator(g, sigma: 0.3, noise: noise, previous: prev) }
        for window in [TrainingWindow(top: 7, left: 9, height: 12, width: 15),
                       TrainingWindow(top: 0, left: 26, height: 30, width: 15),
                       TrainingWindow.random(side: 20, in: size, rng: rng)] {
            let p = window.cutPadded(zeroPad(prev, networkPadding))
            let z = window.cutPadded(zeroPad(noise, networkPadding))
            let part = withNoGrad { g(0.3 * z + p, p) }
            XCTAssertEqual(part.shape, [1, 3, window.height, window.width])
            assertClose(part, window.cut(whole), tolerance: 1e-5, "window \(window)")
        }
    }

    /// After recalibration a BatchNorm's running statistics are the plain average of its batch
    /// statistics over the whole-image passes, whatever training left in them: checked exactly
    /// at the first block, whose input is known (sigma z + rand(n), zero-padded); the momentum
    /// and the mode are restored.
    func testRecalibrationAveragesWholeImageStatistics() throws {
        let rng = RandomGenerator(seed: 3)
        let g = Generator(channels: 6, rng: rng), d = Critic(channels: 6, rng: rng)
        let size = ImageSize(height: 21, width: 30)
        let real = rng.uniform(shape: [1, 3, size.height, size.width], low: -1, high: 1)
        let step = TrainingStep(scale: 2, generator: g, critic: d,
                                generatorOptimizer: Adam(parameters: g.parameters, lr: 1e-3),
                                criticOptimizer: Adam(parameters: d.parameters, lr: 1e-3),
                                sigma: 0.4, real: real, reconstructionInput: real, config: Self.config, rng: rng)
        let inputs = (0..<3).map { _ in rng.uniform(shape: [1, 3, size.height, size.width], low: -1, high: 1) }
        let bn = g.stack.blocks[0].bn
        for b in g.stack.blocks { b.bn.runningMean.scalars = .init(repeating: 9, count: 6) }
        g.isTraining = false

        try step.recalibrateNormalization(passes: 3, rng: RandomGenerator(seed: 11)) { inputs[$0] }

        let noise = RandomGenerator(seed: 11)
        var mean = [Double](repeating: 0, count: 6), variance = [Double](repeating: 0, count: 6)
        for input in inputs {
            let z = drawNoise(scale: 2, size: size, noisePadding: false, rng: noise)
            let y = withNoGrad { g.stack.blocks[0].conv(zeroPad(0.4 * z + input, networkPadding)) }
            let plane = y.shape[2] * y.shape[3]
            for c in 0..<6 {
                let v = y.scalars[(c * plane)..<((c + 1) * plane)].map(Double.init)
                let m = v.reduce(0, +) / Double(plane)
                mean[c] += m / 3
                variance[c] += v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(plane - 1) / 3
            }
        }
        for c in 0..<6 {
            XCTAssertEqual(Double(bn.runningMean.scalars[c]), mean[c], accuracy: 1e-4 * max(1, abs(mean[c])))
            XCTAssertEqual(Double(bn.runningVar.scalars[c]), variance[c], accuracy: 1e-4 * variance[c])
        }
        XCTAssertFalse(g.stack.blocks.contains { $0.bn.runningMean.scalars.contains(9) })
        XCTAssertEqual(g.stack.blocks.map(\.bn.momentum), [Float](repeating: 0.1, count: 4))
        XCTAssertFalse(g.isTraining)
    }

    /// Recalibration touches only scales trained on windows: with windows as large as every
    /// scale, the passes change nothing at all.
    func testRecalibrationLeavesWholeImageScalesAlone() throws {
        var config = Self.config
        config.cropSize = 64
        config.iterations = 3
        config.coarseSchedule = nil
        let pyramid = try TinySinGAN.pyramid(config)
        var without = config
        without.normalizationPasses = 0
        let a = try SinGANTrainer(pyramid: pyramid, config: config).train()
        let b = try SinGANTrainer(pyramid: pyramid, config: without).train()
        for (x, y) in zip(a.scales, b.scales) {
            for (p, q) in zip(x.generator.namedTensors, y.generator.namedTensors) {
                XCTAssertEqual(p.tensor.scalars, q.tensor.scalars, p.name)
            }
        }
    }

    func testRandomWindowsStayInsideAndFitImagesTheyCover() {
        let rng = RandomGenerator(seed: 1)
        let size = ImageSize(height: 30, width: 70)
        var tops = Set<Int>(), lefts = Set<Int>()
        for _ in 0..<2000 {
            let w = TrainingWindow.random(side: 24, in: size, rng: rng)
            XCTAssertEqual([w.height, w.width], [24, 24])
            XCTAssertTrue(w.top >= 0 && w.top + 24 <= 30 && w.left >= 0 && w.left + 24 <= 70)
            tops.insert(w.top)
            lefts.insert(w.left)
        }
        XCTAssertEqual(tops, Set(0...6), "every row offset is reachable")
        XCTAssertEqual(lefts.count, 47, "every column offset is reachable")
        // A window as large as the image is the image, and draws nothing.
        let before = rng.state
        XCTAssertEqual(TrainingWindow.random(side: 80, in: size, rng: rng), .whole(size))
        XCTAssertEqual(rng.state, before)
        // A side larger than one dimension only: that dimension is whole.
        let tall = TrainingWindow.random(side: 40, in: size, rng: rng)
        XCTAssertEqual([tall.top, tall.height, tall.width], [0, 30, 40])
    }

    func testSchedulesPerScaleAndIterationOverride() throws {
        var fast = TrainingConfig.fast
        let coarse = StepSchedule(iterations: 2000, criticSteps: 1, generatorSteps: 1)
        let finer = StepSchedule(iterations: 600, criticSteps: 1, generatorSteps: 1)
        XCTAssertEqual(fast.schedule(forScale: 3, of: ImageSize(height: 54, width: 71)), coarse)
        XCTAssertEqual(fast.schedule(forScale: 8, of: ImageSize(height: 186, width: 248)), finer)
        // cows.png: its fourth scale (48 x 85) is over 80 px: three coarse scales.
        XCTAssertEqual(fast.schedule(forScale: 3, of: ImageSize(height: 48, width: 85)), finer)
        // tree.png (square, 11 scales): the 63 and 80 px scales are under 80 px but not among
        // the four coarsest.
        let tree = try PyramidGeometry(input: ImageSize(height: 250, width: 250), minSize: fast.minSize,
                                       maxSize: fast.maxSize, scaleFactor: fast.scaleFactor)
        XCTAssertEqual(tree.count, 11)
        XCTAssertEqual((0..<tree.count).map { fast.schedule(forScale: $0, of: tree.sizes[$0]) == coarse },
                       [true, true, true, true] + Array(repeating: false, count: 7))
        XCTAssertEqual(TrainingConfig.paper.schedule(forScale: 0, of: ImageSize(height: 25, width: 33)),
                       StepSchedule(iterations: 2000, criticSteps: 3, generatorSteps: 3))
        fast.setIterations(100)
        XCTAssertEqual(fast.iterations, 100)
        XCTAssertEqual(fast.coarseSchedule?.iterations, 333)
        XCTAssertEqual(fast.learningRate(atIteration: 79, of: 100), fast.learningRate)
        XCTAssertEqual(fast.learningRate(atIteration: 80, of: 100), fast.learningRate * fast.learningRateDecay)
        try fast.validate()
        XCTAssertEqual(TrainingConfig.preset(named: "fast"), .fast)
        XCTAssertEqual(TrainingConfig.presetNames.compactMap(TrainingConfig.preset(named:)).count, 3)

        for (change, parameter) in [({ (c: inout TrainingConfig) in c.cropSize = 8 }, "crop-size"),
                                    ({ $0.penaltyInterval = 0 }, "penalty-interval"),
                                    ({ $0.randomInputBank = -1 }, "random-input-bank"),
                                    ({ $0.coarseSchedule?.criticSteps = 0 }, "coarse-schedule"),
                                    ({ $0.coarseScales = -1 }, "coarse-scales")] {
            var bad = TrainingConfig.fast
            change(&bad)
            XCTAssertThrowsError(try bad.validate()) { XCTAssertTrue("\($0)".contains(parameter), "\($0)") }
        }
    }

    /// rand(n)'s bank: none at scale 0; under `fast`, none at the coarse schedule's scales (drawn
    /// anew there) and 16 draws at the finer ones; at every scale from 1 with
    /// `coarseRandomInputBank`; none anywhere in the paper.
    func testRandomInputBankSizePerScale() {
        let sizes = [(25, 34), (33, 43), (42, 56), (54, 71), (69, 91), (186, 248)].map { ImageSize(height: $0.0, width: $0.1) }
        let fast = TrainingConfig.fast
        XCTAssertEqual(sizes.indices.map { fast.followsCoarseSchedule(scale: $0, of: sizes[$0]) }, [true, true, true, true, false, false])
        XCTAssertEqual(sizes.indices.map { fast.randomInputBankSize(atScale: $0, of: sizes[$0]) }, [0, 0, 0, 0, 16, 16])
        var banked = fast
        banked.coarseRandomInputBank = true
        XCTAssertEqual(sizes.indices.map { banked.randomInputBankSize(atScale: $0, of: sizes[$0]) }, [0, 16, 16, 16, 16, 16])
        XCTAssertEqual(sizes.indices.map { TrainingConfig.paper.randomInputBankSize(atScale: $0, of: sizes[$0]) }, [0, 0, 0, 0, 0, 0])
    }

    /// Model files written before these settings existed decode to the paper's behaviour.
    func testConfigurationsWithoutSpeedSettingsDecodeAsThePaper() throws {
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(TrainingConfig.paper)) as! [String: Any]
        for key in ["cropSize", "randomInputBank", "coarseRandomInputBank", "penaltyInterval", "coarseSide", "coarseScales", "coarseSchedule",
                    "normalizationPasses"] {
            json.removeValue(forKey: key)
        }
        let old = try JSONDecoder().decode(TrainingConfig.self, from: JSONSerialization.data(withJSONObject: json))
        XCTAssertEqual(old, .paper)
        let fast = try JSONDecoder().decode(TrainingConfig.self, from: JSONEncoder().encode(TrainingConfig.fast))
        XCTAssertEqual(fast, .fast)
    }

    /// Every fast mechanism on, interrupted mid-scale twice (inside the coarse schedule and
    /// inside a windowed scale), resumed: the very same model file as a straight run.
    func testFastSettingsTrainAndResumeBitExactly() throws {
        let config = Self.config
        let pyramid = try TinySinGAN.pyramid(config)
        let straightPath = TinySinGAN.temporaryPath("fast-straight.singan")
        let straight = try SinGANTrainer(pyramid: pyramid, config: config)
        straight.checkpointPath = straightPath
        var seen: [(scale: Int, iterations: Int)] = []
        straight.progress = { p in if p.iteration == p.iterations { seen.append((p.scale, p.iterations)) } }
        let model = try straight.train()
        let sizes = pyramid.geometry.sizes
        XCTAssertEqual(seen.map(\.iterations), sizes.indices.map { config.schedule(forScale: $0, of: sizes[$0]).iterations })
        XCTAssertTrue(seen.map(\.iterations).contains(12) && seen.map(\.iterations).contains(8), "\(seen)")
        XCTAssertEqual(straight.log.scales.map(\.iterations), seen.map(\.iterations))
        XCTAssertEqual(try model.sample(rng: RandomGenerator(seed: 2)).shape, [1, 3] + [sizes.last!.height, sizes.last!.width])

        let path = TinySinGAN.temporaryPath("fast-interrupted.singan")
        try? FileManager.default.removeItem(atPath: path)
        for stopAfter in [7, 23] {
            let trainer = FileManager.default.fileExists(atPath: path)
                ? try SinGANTrainer(resumingFrom: path, pyramid: pyramid)
                : try SinGANTrainer(pyramid: pyramid, config: config)
            trainer.checkpointPath = path
            var done = 0
            trainer.progress = { _ in done += 1 }
            trainer.shouldStop = { done >= stopAfter }
            XCTAssertThrowsError(try trainer.train())
        }
        _ = try SinGANTrainer(resumingFrom: path, pyramid: pyramid).train()
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)),
                       try Data(contentsOf: URL(fileURLWithPath: straightPath)))
    }
}
