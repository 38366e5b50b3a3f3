import Engine
import Foundation
import SinGAN
import XCTest

/// End-to-end training of the tiny model (`TinySinGAN`): the rules of docs/ALGORITHM.md section 3,
/// sampling (section 4) and bit-exact resume.
final class SinGANTrainingTests: XCTestCase {
    private func trained() throws -> TinySinGAN.Run { try TinySinGAN.straight.get() }

    func testPyramidAndScalesFollowTheFormula() throws {
        let r = try trained()
        let g = try PyramidGeometry(input: ImageSize(height: 40, width: 48), minSize: 24, maxSize: 48, scaleFactor: 0.75)
        XCTAssertEqual(r.model.count, 4)
        XCTAssertEqual(r.model.sizes, g.sizes)
        XCTAssertEqual(r.model.scales.map(\.size), g.sizes)
        XCTAssertEqual(r.model.scales.last!.real.shape, [1, 3, 40, 48])
        XCTAssertTrue(r.model.scales.allSatisfy { !$0.generator.isTraining }, "finished scales run in inference mode")
    }

    func testLossesAreFiniteAndReported() throws {
        let r = try trained()
        XCTAssertEqual(r.progress.count, 4 * 30)
        for p in r.progress {
            XCTAssertTrue(p.losses.critic.isFinite && p.losses.generator.isFinite && p.losses.reconstruction.isFinite)
            XCTAssertTrue(p.totalSecondsLeft.isFinite && p.totalSecondsLeft >= 0)
        }
        XCTAssertEqual(r.log.scales.map(\.scale), [0, 1, 2, 3])
        XCTAssertEqual(r.log.scales.map(\.noiseAmplitude), r.model.scales.map(\.sigma))
        XCTAssertEqual(r.log.scales.last!.finalLosses, r.progress.last!.losses)
    }

    func testReconstructionErrorFallsAtTheLastScale() throws {
        let last = try trained().progress.filter { $0.scale == 3 }.map(\.losses.reconstruction)
        let first = last.prefix(5).reduce(0, +) / 5, final = last.suffix(5).reduce(0, +) / 5
        XCTAssertLessThan(final, first, "reconstruction error \(last)")
    }

    func testNoiseAmplitudesComeFromTheReconstructionError() throws {
        let model = try trained().model
        XCTAssertEqual(model.scales[0].sigma, 1)
        for n in 1..<model.count {
            let rec = try model.upsample(try model.reconstruction(atScale: n - 1), to: model.sizes[n])
            let real = model.scales[n].real
            let rmse = (zip(rec.scalars, real.scalars).map { Double($0 - $1) * Double($0 - $1) }
                .reduce(0, +) / Double(real.count)).squareRoot()
            XCTAssertEqual(Double(model.scales[n].sigma), 0.1 * rmse, accuracy: 1e-6 * rmse, "scale \(n)")
            XCTAssertGreaterThan(model.scales[n].sigma, 0)
        }
    }

    func testSaveLoadRoundTripIsBitExact() throws {
        let r = try trained()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: r.modelPath))
        let loaded = try SinGANModel.load(from: r.modelPath)
        let again = TinySinGAN.temporaryPath("again.singan")
        try loaded.save(to: again)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: again)), bytes)
        // The in-memory model equals the file too.
        let fresh = TinySinGAN.temporaryPath("fresh.singan")
        try r.model.save(to: fresh)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: fresh)), bytes)
        XCTAssertEqual(loaded.config, r.model.config)
        XCTAssertEqual(loaded.zStar.scalars, r.model.zStar.scalars)
        for (a, b) in zip(loaded.scales, r.model.scales) {
            XCTAssertEqual(a.sigma, b.sigma)
            XCTAssertEqual(a.generator.namedTensors.map(\.tensor.scalars), b.generator.namedTensors.map(\.tensor.scalars))
        }
        // Same samples from the loaded model.
        XCTAssertEqual(try loaded.sample(rng: RandomGenerator(seed: 3)).scalars,
                       try r.model.sample(rng: RandomGenerator(seed: 3)).scalars)
    }

    func testSamplingIsDeterministicPerSeedAndDiffersBetweenSeeds() throws {
        let model = try trained().model
        for start in [0, 2] {
            let a = try model.sample(startScale: start, rng: RandomGenerator(seed: 1))
            let b = try model.sample(startScale: start, rng: RandomGenerator(seed: 1))
            let c = try model.sample(startScale: start, rng: RandomGenerator(seed: 2))
            XCTAssertEqual(a.shape, [1, 3, 40, 48])
            XCTAssertEqual(a.scalars, b.scalars, "start \(start)")
            XCTAssertNotEqual(a.scalars, c.scalars, "start \(start)")
            XCTAssertTrue(a.scalars.allSatisfy(\.isFinite))
        }
    }

    func testArbitrarySizeFromAnyStartScale() throws {
        let model = try trained().model
        for start in [0, 1, 3] {
            let wide = try model.sample(startScale: start, scaleH: 1.5, rng: RandomGenerator(seed: 5))
            XCTAssertEqual(wide.shape, [1, 3, 40, 72], "start \(start)")
            let tall = try model.sample(startScale: start, scaleH: 0.75, scaleV: 2, rng: RandomGenerator(seed: 5))
            XCTAssertEqual(tall.shape, [1, 3, 80, 36], "start \(start)")
        }
        XCTAssertThrowsError(try model.sample(startScale: 4, rng: RandomGenerator(seed: 1)))
        XCTAssertThrowsError(try model.sample(scaleH: 0, rng: RandomGenerator(seed: 1)))
    }

    func testInjectionAndSingleScaleRefinement() throws {
        let model = try trained().model
        let reference = model.scales.last!.real
        let edited = try model.generate(injecting: reference, atScale: 2, rng: RandomGenerator(seed: 9))
        XCTAssertEqual(edited.shape, reference.shape)
        // Refining a larger image with the finest generator keeps its size (super-resolution).
        let big = try resized(reference, to: ImageSize(height: 53, width: 64))
        XCTAssertEqual(model.refine(big, withScale: model.finest, rng: RandomGenerator(seed: 9)).shape, [1, 3, 53, 64])
        XCTAssertThrowsError(try model.generate(injecting: reference, atScale: 0, rng: RandomGenerator(seed: 9)))
    }

    func testResumedRunGivesTheIdenticalModel() throws {
        let straight = try trained()
        let path = TinySinGAN.temporaryPath("interrupted.singan")
        // Stop mid-scale (not on a checkpoint boundary), then again right after a scale ended.
        for stopAfter in [45, 15] {
            let trainer = FileManager.default.fileExists(atPath: path)
                ? try SinGANTrainer(resumingFrom: path, pyramid: try TinySinGAN.pyramid())
                : try SinGANTrainer(pyramid: try TinySinGAN.pyramid(), config: TinySinGAN.config)
            trainer.checkpointPath = path
            var done = 0
            trainer.progress = { _ in done += 1 }
            trainer.shouldStop = { done >= stopAfter }
            XCTAssertThrowsError(try trainer.train()) { error in
                XCTAssertEqual(error as? SinGANError, .cancelled(checkpoint: path))
            }
        }
        XCTAssertThrowsError(try SinGANModel.load(from: path)) { error in
            XCTAssertTrue("\(error)".contains("unfinished"), "\(error)")
        }
        let trainer = try SinGANTrainer(resumingFrom: path, pyramid: try TinySinGAN.pyramid())
        XCTAssertTrue(trainer.resumed)
        _ = try trainer.train()
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)),
                       try Data(contentsOf: URL(fileURLWithPath: straight.modelPath)))
        XCTAssertEqual(trainer.log.scales.map(\.finalLosses), straight.log.scales.map(\.finalLosses))
        // A finished model cannot be resumed, and a checkpoint only resumes with its own image.
        XCTAssertThrowsError(try SinGANTrainer(resumingFrom: path, pyramid: try TinySinGAN.pyramid()))
    }

    func testFixedZStarModeTrains() throws {
        var config = TinySinGAN.config
        config.zStarMode = .fixed
        config.iterations = 4
        config.noisePadding = true
        let model = try SinGANTrainer(pyramid: try TinySinGAN.pyramid(config), config: config).train()
        XCTAssertEqual(model.zStar.shape, [1, 3, 34, 39])
        XCTAssertEqual(try model.sample(rng: RandomGenerator(seed: 1)).shape, [1, 3, 40, 48])
    }

    func testTooSmallImageAndUnwritableOutputAreRefused() throws {
        var config = TinySinGAN.config
        config.minSize = 41
        XCTAssertThrowsError(try TinySinGAN.pyramid(config)) { error in
            guard case SinGANError.imageTooSmall(let path, 48, 40, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, TinySinGAN.imagePath, "the error names the image file")
            XCTAssertTrue("\(error)".hasPrefix("\(TinySinGAN.imagePath): image 48x40 is too small"), "\(error)")
        }
        config = TinySinGAN.config
        config.iterations = 1
        let trainer = try SinGANTrainer(pyramid: try TinySinGAN.pyramid(config), config: config)
        trainer.checkpointPath = "/nonexistent-dir/model.singan"
        XCTAssertThrowsError(try trainer.train()) { error in
            guard case SinGANError.writeFailed(let path, let reason) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "/nonexistent-dir/model.singan")
            XCTAssertTrue(reason.contains("No such file or directory"), reason)
        }
    }
}
