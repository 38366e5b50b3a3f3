import Foundation
import Vips
import XCTest

/// `singan harmonize/edit/paint/superres/animate/sample` run as processes on a tiny model trained
/// once for the class: each writes its output (exit 0), and bad input gives exit 1, a message on
/// stderr naming the problem, and no output file.
final class CLITaskCommandTests: XCTestCase {
    nonisolated(unsafe) static var folder: URL!
    nonisolated(unsafe) static var model: URL!
    nonisolated(unsafe) static var trainingError: String?

    /// Images of the plugin tests (the shared SinGAN examples, shrunk).
    static func resource(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../PluginsTests/Resources/\(name)").standardizedFileURL.path
    }

    override class func setUp() {
        super.setUp()
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("cli-tasks-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        model = folder.appendingPathComponent("starry.singan")
        // 40 px wide, 4 scales of 10 iterations; noise padding, as `animate` wants.
        let result = try? DaemonHarness.execute([
            "train", resource("starry_night.png"), "-o", model.path, "--preset", "quick", "--max-size", "40",
            "--min-size", "16", "--iters", "10", "--seed", "1", "--noise-padding"])
        if result?.status != 0 { trainingError = "singan train failed: \(result?.errors ?? "did not run")" }
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: folder)
        super.tearDown()
    }

    override func setUpWithError() throws {
        if let error = Self.trainingError { throw TrainingFailed(description: error) }
    }

    struct TrainingFailed: Error, CustomStringConvertible {
        let description: String
    }

    /// A fresh output path in the class's folder.
    func output(_ name: String) -> String {
        Self.folder.appendingPathComponent("\(UUID().uuidString.prefix(8))-\(name)").path
    }

    /// Runs `singan ARGS`, expecting success.
    func succeed(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try DaemonHarness.execute(arguments)
        XCTAssertEqual(result.status, 0, "singan \(arguments.joined(separator: " ")): \(result.errors)", file: file, line: line)
    }

    /// Runs `singan ARGS`, expecting exit 1 with `message` on stderr and nothing at `output`.
    func fail(_ arguments: [String], output: String, message: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try DaemonHarness.execute(arguments)
        XCTAssertEqual(result.status, 1, file: file, line: line)
        XCTAssertTrue(result.errors.contains(message), "stderr: \(result.errors)", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output), "no output after an error", file: file, line: line)
    }

    /// (width, height) of an image file.
    func size(_ path: String) throws -> [Int] {
        let image = try VipsImage.load(path: path)
        return [image.width, image.height]
    }

    /// The size of the model's training image, from a sample at scale 1x1.
    func trainingSize() throws -> [Int] {
        let dir = output("samples")
        try succeed(["sample", Self.model.path, "-o", dir, "-n", "1", "--seed", "0"])
        return try size(dir + "/sample_000.png")
    }

    func testSample() throws {
        let dir = output("samples")
        try succeed(["sample", Self.model.path, "-o", dir, "-n", "2", "--seed", "3", "--scale-h", "1.5"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["sample_000.png", "sample_001.png"])
        let training = try trainingSize(), sample = try size(dir + "/sample_000.png")
        XCTAssertGreaterThan(sample[0], training[0], "--scale-h 1.5 widens the samples")
        XCTAssertEqual(sample[1], training[1])
        try fail(["sample", Self.model.path, "-o", dir + "/none", "-n", "0"], output: dir + "/none",
                 message: "singan sample: ")
    }

    func testHarmonize() throws {
        let out = output("harmonized.png")
        try succeed(["harmonize", Self.model.path, "--reference", Self.resource("starry_night_naive.png"),
                     "--mask", Self.resource("starry_night_naive_mask.png"), "--scale", "1", "-o", out, "--seed", "0"])
        XCTAssertEqual(try size(out), try trainingSize())
        let bad = output("bad.png")
        try fail(["harmonize", Self.model.path, "--reference", Self.resource("starry_night_naive.png"),
                  "--mask", Self.resource("starry_night_naive_mask.png"), "--scale", "9", "-o", bad],
                 output: bad, message: "singan harmonize: injection scale 9 is out of range")
    }

    func testEdit() throws {
        let out = output("edited.png"), unmasked = output("edited_full.jpg")
        try succeed(["edit", Self.model.path, "--reference", Self.resource("starry_night_naive.png"),
                     "--mask", Self.resource("starry_night_naive_mask.png"), "--scale", "1", "-o", out,
                     "--unmasked", unmasked, "--seed", "0"])
        XCTAssertEqual(try size(out), try trainingSize())
        XCTAssertEqual(try size(unmasked), try size(out))
        let bad = output("bad.png"), missing = Self.folder.appendingPathComponent("missing_mask.png").path
        try fail(["edit", Self.model.path, "--reference", Self.resource("starry_night_naive.png"), "--mask", missing,
                  "--scale", "1", "-o", bad],
                 output: bad, message: "singan edit: mask \(missing) does not exist")
    }

    func testPaint() throws {
        let out = output("painted.png"), quantized = output("quantized.png")
        try succeed(["paint", Self.model.path, "--paint", Self.resource("cows_paint.png"), "--scale", "1", "-o", out, "--seed", "0"])
        try succeed(["paint", Self.model.path, "--paint", Self.resource("cows_paint.png"), "--scale", "1", "-o", quantized,
                     "--quantize", "--preset", "quick", "--iters", "3", "--seed", "0"])
        XCTAssertEqual(try size(out), try trainingSize())
        XCTAssertEqual(try size(quantized), try size(out))
        let text = Self.folder.appendingPathComponent("notes.png")
        try Data("not an image".utf8).write(to: text)
        let bad = output("bad.png")
        try fail(["paint", Self.model.path, "--paint", text.path, "-o", bad],
                 output: bad, message: "singan paint: image \(text.path) is not a usable image")
    }

    func testSuperResolution() throws {
        let withModel = output("x2.png"), trained = output("x2_trained.png")
        try succeed(["superres", Self.resource("33039_LR.png"), "-o", withModel, "--factor", "2", "--model", Self.model.path,
                     "--seed", "0"])
        try succeed(["superres", Self.resource("33039_LR.png"), "-o", trained, "--factor", "2", "--preset", "quick",
                     "--iters", "2", "--seed", "0"])
        XCTAssertEqual(try size(withModel), [54, 80], "exactly 2 x 27x40")
        XCTAssertEqual(try size(trained), [54, 80])
        let bad = output("bad.png")
        try fail(["superres", Self.resource("33039_LR.png"), "-o", bad, "--factor", "1", "--model", Self.model.path],
                 output: bad, message: "singan superres: parameter 'factor' must be greater than 1")
    }

    func testAnimate() throws {
        let out = output("walk.gif")
        try succeed(["animate", Self.model.path, "-o", out, "--frames", "4", "--fps", "5", "--start-scale", "1", "--seed", "0"])
        let animation = try VipsImage.load(path: out)
        XCTAssertEqual(animation.pageCount, 4)
        XCTAssertEqual([animation.width, animation.height], try trainingSize())
        let bad = output("bad.gif")
        try fail(["animate", Self.resource("cows.png"), "-o", bad, "--frames", "4"],
                 output: bad, message: "singan animate: model cows.png: ")
    }
}
