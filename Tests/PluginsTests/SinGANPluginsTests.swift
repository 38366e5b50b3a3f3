import Engine
import Foundation
import Plugins
import SinGAN
import Vips
import XCTest

/// Every SinGAN task plugin on one tiny model of starry_night.png, trained once for the class by
/// the train plugin.
final class SinGANPluginsTests: XCTestCase {
    typealias T = PluginTestSupport
    nonisolated(unsafe) static var modelURL: URL!
    nonisolated(unsafe) static var model: SinGANModel!
    var dir: URL!

    override class func setUp() {
        super.setUp()
        do {
            modelURL = try T.trainTinyModel(T.resource("starry_night.png"))
            model = try SinGANModel.load(from: modelURL.path)
        } catch {
            XCTFail("training the tiny model failed: \(error)")
        }
    }

    override func setUpWithError() throws {
        try XCTSkipIf(Self.model == nil, "no model")
        dir = try T.scratch("tasks")
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    var model: SinGANModel { Self.model }
    var modelURL: URL { Self.modelURL }
    /// The training image's size (the finest scale), width and height.
    var trainingSize: [Int] { [model.sizes.last!.width, model.sizes.last!.height] }

    // MARK: - train, sample

    func testTrainPluginMakesTheConfiguredPyramid() throws {
        XCTAssertEqual(trainingSize, [48, 38])
        XCTAssertEqual(model.count, 5)
        XCTAssertEqual(model.sizes.first!.height, 16)
        XCTAssertEqual(model.config.iterations, 12)
    }

    /// `singan train --resume` checks the options given against the checkpoint's configuration:
    /// every parameter but `preset` is compared, by the configuration it leads to.
    func testTrainParametersThatContradictACheckpoint() throws {
        var c = TrainingConfig.fast
        c.seed = 7
        c.setIterations(100)
        let agreeing: [String: ParameterValue] = [
            "preset": .string("quick"), "iterations": .int(100), "max_size": .int(250), "min_size": .int(25),
            "scale_factor": .double(0.75), "channels": .int(32), "max_channels": .int(32), "crop_size": .int(TrainingConfig.fast.cropSize),
            "reconstruction_weight": .int(10), "noise_padding": .bool(false), "z_star": .string("redrawn"), "upsampling": .string("resize"), "seed": .int(7)]
        XCTAssertEqual(Set(agreeing.keys), Set(TrainPlugin.parameters.parameters.map(\.name)), "every parameter is compared")
        XCTAssertTrue(try TrainPlugin.conflicts(agreeing, with: c).isEmpty)
        let contradicting: [String: ParameterValue] = [
            "iterations": .int(600), "max_size": .int(64), "min_size": .int(20), "scale_factor": .double(0.5),
            "channels": .int(8), "max_channels": .int(64), "crop_size": .int(0), "reconstruction_weight": .double(100),
            "noise_padding": .bool(true), "z_star": .string("fixed"), "upsampling": .string("grow-and-crop"), "seed": .int(8)]
        XCTAssertEqual(try TrainPlugin.conflicts(contradicting, with: c).map { "\($0.parameter) \($0.checkpointValue)" },
                       ["iterations 100", "max_size 250", "min_size 25", "scale_factor 0.75", "channels 32", "max_channels 32",
                        "crop_size \(TrainingConfig.fast.cropSize)", "reconstruction_weight 10.0", "noise_padding false", "z_star redrawn", "upsampling resize", "seed 7"])
        XCTAssertThrowsError(try TrainPlugin.conflicts(["seed": .int(-1)], with: c), "values are checked against the schema")
    }

    /// Noise padding takes a fixed z* unless z_star is given (see `TrainPlugin.config`): with
    /// noise padding and a redrawn z*, scale 0 cannot reconstruct the image's layout.
    func testNoisePaddingTakesAFixedZStarUnlessZStarIsGiven() throws {
        func zStar(_ given: [String: ParameterValue]) throws -> ZStarMode {
            try TrainPlugin.config(try TrainPlugin.parameters.validate(given)).zStarMode
        }
        XCTAssertEqual(try zStar(["preset": .string("fast")]), .redrawn, "the release's default")
        XCTAssertEqual(try zStar(["preset": .string("fast"), "noise_padding": .bool(true)]), .fixed)
        XCTAssertEqual(try zStar(["noise_padding": .bool(true), "z_star": .string("redrawn")]), .redrawn, "as given")
        XCTAssertEqual(try zStar(["noise_padding": .bool(false), "z_star": .string("fixed")]), .fixed, "as given")
        // A checkpoint of such a run agrees with the options that started it.
        let c = try TrainPlugin.config(try TrainPlugin.parameters.validate(["preset": .string("fast"), "noise_padding": .bool(true)]))
        XCTAssertTrue(try TrainPlugin.conflicts(["preset": .string("fast"), "noise_padding": .bool(true)], with: c).isEmpty)
    }

    func testSampleCountAndSizes() throws {
        let out = try T.run(SamplePlugin.self, model: modelURL, ["count": .int(2), "scale_h": .double(1.5), "seed": .int(3)])
        XCTAssertEqual(out.count, 2)
        for a in out { XCTAssertEqual(try T.size(a.url), [72, 38]) }
        let again = try T.run(SamplePlugin.self, model: modelURL, ["count": .int(1), "scale_h": .double(1.5), "seed": .int(3)])
        XCTAssertEqual(try T.pixels(again[0].url), try T.pixels(out[0].url), "the same seed gives the same sample")
    }

    // MARK: - harmonize, edit

    /// A 4x4 white square at (2, 2) in a 96x76 mask (twice the training size: it is resized).
    func smallMask() throws -> URL { try T.mask(width: 96, height: 76, white: (4, 4, 8, 8), in: dir) }

    /// Checks that pixels where the blend mask is 0 are exactly the training image, that such
    /// pixels exist (all pixels beyond the dilation plus the blur's reach), and that some inside differ.
    func checkOutsideMaskUnchanged(_ output: URL, mask: URL, radius: Int) throws {
        XCTAssertEqual(try T.size(output), trainingSize)
        let size = model.sizes.last!
        let binary = try BlendMask.binaryMask(fileAt: mask, size: size, maxPixels: 1_000_000)
        let weights = BlendMask(binary: binary, width: size.width, height: size.height, radius: radius).weights
        let expected = try T.quantized8Bit(model.scales.last!.real)
        let got = try T.pixels(output)
        let plane = size.width * size.height
        var outside = 0
        for i in 0..<plane where weights[i] == 0 {
            outside += 1
            for c in 0..<3 { XCTAssertEqual(got[c * plane + i], expected[c * plane + i], "pixel \(i) band \(c)") }
        }
        let reach = radius + 20 + 8  // mask square ends at 6 px (of 48); dilation; blur truncation
        XCTAssertGreaterThanOrEqual(outside, plane - reach * reach)
        XCTAssertGreaterThan(outside, 0)
        XCTAssertLessThan(outside, plane)
    }

    func testHarmonizeKeepsTheImageOutsideTheDilatedMask() throws {
        let mask = try smallMask()
        let out = try T.run(HarmonizePlugin.self, model: modelURL,
                            side: ["reference": T.resource("starry_night_naive.png"), "mask": mask],
                            ["scale": .int(2), "seed": .int(0)])
        XCTAssertEqual(out.count, 1)
        try checkOutsideMaskUnchanged(out[0].url, mask: mask, radius: BlendMask.harmonizationRadius)
    }

    func testEditReturnsMaskedAndUnmaskedResults() throws {
        let mask = try smallMask()
        let out = try T.run(EditPlugin.self, model: modelURL,
                            side: ["reference": T.resource("starry_night_naive.png"), "mask": mask],
                            ["scale": .int(1), "seed": .int(0)])
        XCTAssertEqual(out.map(\.label), ["masked", "unmasked"])
        try checkOutsideMaskUnchanged(out[0].url, mask: mask, radius: BlendMask.editingRadius)
        XCTAssertEqual(try T.size(out[1].url), trainingSize)
        XCTAssertNotEqual(try T.pixels(out[1].url), try T.quantized8Bit(model.scales.last!.real))
    }

    func testHarmonizationExample() throws {
        let out = try T.run(HarmonizePlugin.self, model: modelURL,
                            side: ["reference": T.resource("starry_night_naive.png"),
                                   "mask": T.resource("starry_night_naive_mask.png")], ["scale": .int(2), "seed": .int(0)])
        XCTAssertEqual(try T.size(out[0].url), trainingSize)
    }

    func testInjectionScaleOutOfRange() throws {
        let side = ["reference": T.resource("starry_night_naive.png"), "mask": T.resource("starry_night_naive_mask.png")]
        for scale in [0, 5] {
            XCTAssertEqual(T.errorMessage { _ = try T.run(HarmonizePlugin.self, model: self.modelURL, side: side, ["scale": .int(scale)]) },
                           "harmonize: injection scale \(scale) is out of range: this model has 5 scales, so the scale must be in 1...4")
        }
        XCTAssertEqual(T.errorMessage { _ = try T.run(EditPlugin.self, model: self.modelURL, side: side, ["scale": .int(7)]) },
                       "edit: injection scale 7 is out of range: this model has 5 scales, so the scale must be in 1...4")
        XCTAssertEqual(T.errorMessage {
            _ = try T.run(PaintPlugin.self, image: T.resource("cows_paint.png"), model: self.modelURL, ["scale": .int(0)])
        }, "paint: injection scale 0 is out of range: this model has 5 scales, so the scale must be in 1...4")
    }

    func testMaskOfTheWrongBandCount() throws {
        let mask = try T.mask(width: 48, height: 38, white: (0, 0, 4, 4), bands: 5, in: dir, name: "mask.tif")
        XCTAssertEqual(T.errorMessage {
            _ = try T.run(HarmonizePlugin.self, model: self.modelURL,
                          side: ["reference": T.resource("starry_night_naive.png"), "mask": mask], ["scale": .int(1)])
        }, "harmonize: mask mask.tif has 5 bands; a mask must be grey (1 band), grey with alpha (2), RGB (3) or RGBA (4)")
    }

    func testMissingSideInputAndModel() throws {
        XCTAssertEqual(T.errorMessage {
            _ = try T.run(HarmonizePlugin.self, model: self.modelURL, side: ["reference": T.resource("starry_night_naive.png")],
                          ["scale": .int(1)])
        }, "harmonize needs the side input 'mask'")
        XCTAssertEqual(T.errorMessage {
            _ = try T.run(EditPlugin.self, model: self.modelURL, side: ["mask": T.resource("starry_night_naive_mask.png")],
                          ["scale": .int(1)])
        }, "edit needs the side input 'reference'")
        XCTAssertEqual(T.errorMessage { _ = try T.run(AnimatePlugin.self) },
                       "animate needs a model file (train one with `singan train`)")
        XCTAssertEqual(T.errorMessage { _ = try T.run(HarmonizePlugin.self, model: self.modelURL, side: [:], [:]) },
                       "missing required parameter 'scale'")
    }

    /// Library errors reach the caller typed, inside a `TaskError` that names the task.
    func testLibraryErrorsPassThroughTyped() throws {
        func error(_ body: () throws -> Void) -> TaskError? {
            do { try body() } catch { return error as? TaskError }
            return nil
        }
        let notAModel = try XCTUnwrap(error { _ = try T.run(AnimatePlugin.self, model: T.resource("starry_night.png")) })
        XCTAssertEqual([notAModel.task, notAModel.context], ["animate", "model starry_night.png"])
        guard case .modelFile? = notAModel.underlying as? SinGANError else {
            return XCTFail("not a SinGANError.modelFile: \(notAModel)")
        }
        XCTAssertEqual(notAModel.description, "animate: \(notAModel.detail)")

        let text = dir.appendingPathComponent("notes.png")
        try Data("not an image".utf8).write(to: text)
        let notAnImage = try XCTUnwrap(error { _ = try T.run(PaintPlugin.self, image: text, model: self.modelURL, ["scale": .int(1)]) })
        XCTAssertEqual([notAnImage.task, notAnImage.context], ["paint", "paint notes.png"])
        XCTAssertTrue(notAnImage.underlying is VipsError, "\(notAnImage)")

        let ownWords = try XCTUnwrap(error {
            _ = try T.run(SuperResolutionPlugin.self, image: text, model: self.modelURL, ["factor": .double(1)])
        })
        XCTAssertEqual([ownWords.task, ownWords.detail], ["superres", "parameter 'factor' must be greater than 1, got 1.0"])
        XCTAssertNil(ownWords.underlying)
        XCTAssertEqual(TaskError.detail(of: ownWords, namingTask: "superres"), ownWords.detail)
        XCTAssertEqual(TaskError.detail(of: ownWords, namingTask: "paint"), ownWords.description)
    }

    // MARK: - paint

    func testPaintOutputSize() throws {
        let out = try T.run(PaintPlugin.self, image: T.resource("cows_paint.png"), model: modelURL, ["scale": .int(1), "seed": .int(0)])
        XCTAssertEqual(out.count, 1)
        XCTAssertEqual(try T.size(out[0].url), trainingSize)
    }

    func testQuantisedPaintUsesOnlyThePaletteAtTheInjectionScale() throws {
        let scale = 2
        let palette = model.palette(atScale: scale)
        XCTAssertEqual(palette.colors.count, 5)
        XCTAssertEqual(Set(palette.colors).count, 5, "the training image has more than 5 colours")
        let paintImage = try VipsImage.load(path: T.resource("cows_paint.png").path).normalizedSRGB()
        let paint = Tensor(shape: [1, 3, paintImage.height, paintImage.width], scalars: try paintImage.planarFloats())
        let input = try model.injectionInput(paint, atScale: scale, palette: palette)
        XCTAssertEqual(input.shape, [1, 3, model.sizes[scale].height, model.sizes[scale].width])
        let plane = input.shape[2] * input.shape[3]
        let used = Set((0..<plane).map { i in [input.scalars[i], input.scalars[plane + i], input.scalars[2 * plane + i]] })
        XCTAssertTrue(used.isSubset(of: Set(palette.colors)), "colours outside the palette: \(used.subtracting(palette.colors))")
        XCTAssertGreaterThan(used.count, 1)

        let out = try T.run(PaintPlugin.self, image: T.resource("cows_paint.png"), model: modelURL,
                            ["scale": .int(scale), "quantize": .bool(true), "iterations": .int(3), "seed": .int(0)])
        XCTAssertEqual(try T.size(out[0].url), trainingSize)
    }

    // MARK: - superres

    func testSuperResolutionSizesWithAGivenModel() throws {
        let image = T.resource("33039_LR.png")  // 27x40
        for (factor, expected) in [(2.0, [54, 80]), (3.5, [95, 140]), (4.0, [108, 160])] {
            let out = try T.run(SuperResolutionPlugin.self, image: image, model: modelURL, ["factor": .double(factor), "seed": .int(0)])
            XCTAssertEqual(try T.size(out[0].url), expected, "factor \(factor)")
        }
        XCTAssertEqual(SuperResolution.steps(factor: 4), 6)
        XCTAssertEqual(SuperResolution.steps(factor: 2), 3)
        XCTAssertEqual(T.errorMessage { _ = try T.run(SuperResolutionPlugin.self, image: image, model: self.modelURL, ["factor": .double(1)]) },
                       "superres: parameter 'factor' must be greater than 1, got 1.0")
    }

    // MARK: - animate

    func testAnimationReadsBackWithTheRequestedFrames() throws {
        for format in ["gif", "webp"] {
            let out = try T.run(AnimatePlugin.self, model: modelURL, [
                "frames": .int(6), "fps": .int(12), "start_scale": .int(1), "format": .string(format), "seed": .int(0)])
            XCTAssertEqual(out.map(\.kind), [.animation])
            XCTAssertEqual(out[0].url.pathExtension, format)
            let image = try VipsImage.load(path: out[0].url.path)
            // WebP stores identical consecutive frames once, with their delays added.
            if format == "gif" { XCTAssertEqual(image.pageCount, 6) } else { XCTAssertLessThanOrEqual(image.pageCount, 6) }
            XCTAssertEqual(image.frameDelays.count, image.pageCount, format)
            // 6 frames of 83 ms (12 fps); GIF keeps centiseconds.
            XCTAssertEqual(Double(image.frameDelays.reduce(0, +)), 6 * 83, accuracy: 6 * 3, format)
            XCTAssertEqual(image.width, 48, format)
        }
        XCTAssertEqual(T.errorMessage { _ = try T.run(AnimatePlugin.self, model: self.modelURL, ["start_scale": .int(5)]) },
                       "animate: start scale 5 is out of range: this model has 5 scales, so it must be in 0...4")
    }

    func testAnimationFramesMoveFromTheStartScaleOnly() throws {
        let still = try model.animationFrames(AnimationSettings(frames: 3, startScale: 4), rng: RandomGenerator(seed: 0))
        let moving = try model.animationFrames(AnimationSettings(frames: 3, startScale: 0), rng: RandomGenerator(seed: 0))
        XCTAssertEqual(still.count, 3)
        XCTAssertNotEqual(moving[0].scalars, moving[2].scalars)
        // Below the start scale every frame has the same input; only the finest scale's noise moves.
        let spread = zip(still[0].scalars, still[2].scalars).map { abs($0 - $1) }.max()!
        let movingSpread = zip(moving[0].scalars, moving[2].scalars).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(spread, movingSpread)
    }

    // MARK: - registry

    func testEveryTaskIsRegistered() {
        XCTAssertEqual(Set(PluginRegistry.standard.names),
                       ["resize", "train", "sample", "harmonize", "edit", "paint", "superres", "animate",
                        "patch-sample", "retarget"])
        XCTAssertTrue(TrainPlugin.isTraining)
    }

    func testRunsThatTrainAreTheOnesThatFitWeights() throws {
        func request(_ plugin: any TaskPlugin.Type, model: URL? = nil, _ values: [String: ParameterValue] = [:]) throws -> TaskRequest {
            TaskRequest(model: model, parameters: try plugin.parameters.validate(values))
        }
        let file = URL(fileURLWithPath: "/models/m.singan")
        XCTAssertTrue(TrainPlugin.trains(try request(TrainPlugin.self)))
        XCTAssertTrue(PaintPlugin.trains(try request(PaintPlugin.self, model: file, ["quantize": .bool(true)])), "quantised paint fine-tunes")
        XCTAssertFalse(PaintPlugin.trains(try request(PaintPlugin.self, model: file)))
        XCTAssertTrue(SuperResolutionPlugin.trains(try request(SuperResolutionPlugin.self)), "superres trains its own model")
        XCTAssertFalse(SuperResolutionPlugin.trains(try request(SuperResolutionPlugin.self, model: file)))
        for plugin in [SamplePlugin.self, AnimatePlugin.self, ResizePlugin.self] as [any TaskPlugin.Type] {
            XCTAssertFalse(plugin.trains(try request(plugin, model: file)), plugin.name)
        }
        for plugin in [HarmonizePlugin.self, EditPlugin.self] as [any TaskPlugin.Type] {
            XCTAssertFalse(plugin.trains(try request(plugin, model: file, ["scale": .int(1)])), plugin.name)
        }
    }

    func testTheListingSaysWhichRunsTrain() {
        let blocks = PluginRegistry.standard.listing().components(separatedBy: "\n\n")
        func trainsLine(_ task: String) -> String? {
            let block = blocks.first { $0.hasPrefix("\(task) — ") }
            return block?.split(separator: "\n").first { $0.hasPrefix("  trains: ") }.map(String.init)
        }
        let slot = " (takes a training slot of the daemon)"
        XCTAssertEqual(trainsLine("train"), "  trains: always" + slot)
        XCTAssertEqual(trainsLine("paint"), "  trains: when quantize is true" + slot)
        XCTAssertEqual(trainsLine("superres"), "  trains: when no model is given" + slot)
        for task in ["resize", "sample", "harmonize", "edit", "animate"] {
            XCTAssertNotNil(blocks.first { $0.hasPrefix("\(task) — ") }, task)
            XCTAssertNil(trainsLine(task), "\(task) never trains")
        }
    }
}
