import XCTest
@testable import PatchTier

/// Generation end to end on small images: sizes, determinism, constant images, folding, errors.
final class PatchGeneratorTests: XCTestCase {
    func testFoldOfTheIdentityFieldGivesTheImageBack() {
        let image = testImage(width: 23, height: 17)
        let packed = (0..<image.patchRows).flatMap { y in (0..<image.patchColumns).map { PatchField.pack($0, y) } }
        let field = PatchField(columns: image.patchColumns, rows: image.patchRows, keyColumns: image.patchColumns,
                               keyRows: image.patchRows, keys: packed, costs: packed.map { _ in 0 })
        let folded = PatchFold.fold(field, values: image, width: 23, height: 17, threads: 2)
        for (a, b) in zip(folded.pixels, image.pixels) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testPyramidEndsAtTheImageAndStartsAtTheCoarsestSide() {
        let pyramid = PatchPyramid(width: 248, height: 186, settings: PatchSettings())
        XCTAssertEqual(pyramid.count, 10)  // 14 -> 186 px at about 0.75 per level
        XCTAssertEqual(pyramid.size(pyramid.count - 1, width: 248, height: 186).width, 248)
        XCTAssertEqual(pyramid.size(0, width: 248, height: 186).height, 14)
        XCTAssertEqual(PatchPyramid(width: 12, height: 40, settings: PatchSettings()).count, 1)
    }

    func testRetargetKeepsTheRequestedExactSize() throws {
        let generator = try PatchGenerator(image: testImage(width: 40, height: 30))
        for (w, h) in [(80, 30), (25, 25), (40, 61), (7, 7), (41, 9)] {
            let output = try generator.generate(width: w, height: h, seed: 1)
            XCTAssertEqual([output.width, output.height], [w, h])
        }
    }

    func testSameSeedSameBytesAnyThreadCountAndAnotherSeedDiffers() throws {
        let image = testImage(width: 40, height: 30)
        var settings = PatchSettings()
        settings.threads = 1
        let one = try PatchGenerator(image: image, settings: settings).generate(width: 40, height: 30, seed: 3)
        settings.threads = 2
        let generator = try PatchGenerator(image: image, settings: settings)
        XCTAssertEqual(try generator.generate(width: 40, height: 30, seed: 3), one)
        XCTAssertEqual(try generator.generate(width: 40, height: 30, seed: 3), one)
        XCTAssertNotEqual(try generator.generate(width: 40, height: 30, seed: 4), one)
        // And through the file: the same bytes.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("patch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = folder.appendingPathComponent("a.png").path, b = folder.appendingPathComponent("b.png").path
        try one.save(to: a)
        try generator.generate(width: 40, height: 30, seed: 3).save(to: b)
        XCTAssertEqual(FileManager.default.contents(atPath: a), FileManager.default.contents(atPath: b))
    }

    func testAConstantImageGivesBackAConstantImage() throws {
        let image = PatchImage(width: 30, height: 20, red: 0.2, green: 0.6, blue: 0.9)
        let output = try PatchGenerator(image: image).generate(width: 45, height: 20, seed: 1)
        for p in 0..<output.width * output.height {
            XCTAssertEqual(output.pixels[p * 4], 0.2, accuracy: 1e-5)
            XCTAssertEqual(output.pixels[p * 4 + 1], 0.6, accuracy: 1e-5)
            XCTAssertEqual(output.pixels[p * 4 + 2], 0.9, accuracy: 1e-5)
        }
    }

    func testSamplesVaryButUseTheImagesPatches() throws {
        let image = discsImage(width: 64, height: 48)
        let generator = try PatchGenerator(image: image)
        let a = try generator.generate(width: 64, height: 48, seed: 1)
        let b = try generator.generate(width: 64, height: 48, seed: 2)
        let difference = zip(a.pixels, b.pixels).map { abs($0 - $1) }.reduce(0, +) / Float(a.pixels.count)
        XCTAssertGreaterThan(difference, 0.01, "two seeds, two different samples")
        // Every output patch is close to some real patch: it was assembled from them.
        var field = PatchField(randomFrom: a, to: image, seed: 1)
        ExactSearch.search(&field, queries: a, keys: image, weights: nil, threads: 2)
        let meanDistance = field.costs.reduce(0, +) / Float(field.costs.count)
        XCTAssertLessThan(meanDistance, 0.5, "mean squared patch distance to the image's nearest patch")
    }

    func testStructureStartsFromTheImagesLayout() throws {
        let image = testImage(width: 60, height: 44)
        var settings = PatchSettings()
        settings.structure = PatchPyramid(width: 60, height: 44, settings: settings).count - 1
        settings.noise = 0
        let output = try PatchGenerator(image: image, settings: settings).generate(width: 60, height: 44, seed: 1)
        let error = zip(output.pixels, image.pixels).map { abs($0 - $1) }.reduce(0, +) / Float(image.pixels.count)
        XCTAssertLessThan(error, 0.01, "started from the image itself with no noise, it stays the image")
    }

    /// The noise at a later first level is scaled down (`structureNoiseDecay`): with the
    /// coarsest level's amount there, the finer levels cannot repair it and the layout breaks.
    func testKeptLevelsGetLessNoise() throws {
        let image = testImage(width: 60, height: 44)
        var kept = PatchSettings()
        kept.structure = 2
        XCTAssertEqual(kept.startNoise, 0.75 * 0.65 * 0.65, accuracy: 1e-12)
        var loud = kept
        loud.noise = kept.noise / (0.65 * 0.65)  // the coarsest level's 0.75 at level 2
        func error(_ settings: PatchSettings) throws -> Float {
            let generator = try PatchGenerator(image: image, settings: settings)
            var total: Float = 0
            for seed in 1...3 as ClosedRange<UInt64> {
                let output = try generator.generate(width: 60, height: 44, seed: seed)
                total += zip(output.pixels, image.pixels).map { abs($0 - $1) }.reduce(0, +) / Float(image.pixels.count)
            }
            return total / 3
        }
        let keptError = try error(kept), loudError = try error(loud)
        // Measured: 0.0026 against 0.038.
        XCTAssertLessThan(keptError, 0.5 * loudError, "kept levels keep the image's layout: \(keptError) vs \(loudError)")
    }

    func testBadSizesAndSettingsAreRefusedByName() throws {
        let generator = try PatchGenerator(image: testImage(width: 40, height: 30))
        XCTAssertThrowsError(try generator.generate(width: 6, height: 30, seed: 1)) {
            XCTAssertEqual($0 as? PatchTierError, .outputTooSmall(width: 6, height: 30))
        }
        XCTAssertThrowsError(try generator.generate(width: 4097, height: 30, seed: 1)) {
            XCTAssertEqual("\($0)", "an output of 4097x30 is over the limit of 4096 pixels a side")
        }
        var settings = PatchSettings()
        settings.structure = 30
        XCTAssertThrowsError(try PatchGenerator(image: testImage(width: 40, height: 30), settings: settings)
            .generate(width: 40, height: 30, seed: 1)) {
            XCTAssertTrue("\($0)".hasPrefix("structure: 30 is out of range"), "\($0)")
        }
        XCTAssertThrowsError(try PatchGenerator(image: PatchImage(width: 5, height: 30, red: 0, green: 0, blue: 0))) {
            XCTAssertEqual($0 as? PatchTierError, .imageTooSmall(role: "image", width: 5, height: 30))
        }
        XCTAssertThrowsError(try PatchImage(contentsOf: "/nonexistent/x.png")) {
            XCTAssertTrue("\($0)".hasPrefix("cannot read the image /nonexistent/x.png"), "\($0)")
        }
    }

    func testCancellationStopsTheRun() throws {
        let generator = try PatchGenerator(image: testImage(width: 40, height: 30))
        var calls = 0
        XCTAssertThrowsError(try generator.generate(width: 40, height: 30, seed: 1) { _ in calls += 1; return false }) {
            XCTAssertEqual($0 as? PatchTierError, .cancelled)
        }
        XCTAssertEqual(calls, 1)
    }
}
