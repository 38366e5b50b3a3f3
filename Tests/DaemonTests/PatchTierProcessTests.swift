import Foundation
import Vips
import XCTest

/// The training-free tasks as a user runs them: `singan patch-sample`, `singan retarget`, the
/// shipped pipelines through `singan run` and the daemon, and bad input.
final class PatchTierProcessTests: XCTestCase {
    static let image = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../SinganCLITests/Resources/balloons_48x40.png").standardizedFileURL.path

    /// A shipped pipeline file's text.
    static func shippedPipeline(_ name: String) throws -> String {
        try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../pipelines/\(name).yaml").standardizedFileURL, encoding: .utf8)
    }

    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("patch-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func size(_ path: String) throws -> [Int] {
        let image = try VipsImage.load(path: path)
        return [image.width, image.height]
    }

    func testPatchSampleWritesFullSizeSamplesAndRepeatsThemForASeed() throws {
        for run in ["a", "b"] {
            let result = try DaemonHarness.execute(["patch-sample", Self.image, "-n", "2", "-o", path(run), "--seed", "5"])
            XCTAssertEqual(result.status, 0, result.errors)
            XCTAssertEqual(result.output, "wrote 2 samples to \(path(run))\n")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path("a")).sorted(),
                       ["patch_sample_000.png", "patch_sample_001.png"])
        XCTAssertEqual(try size(path("a/patch_sample_001.png")), [48, 40])
        for name in ["patch_sample_000.png", "patch_sample_001.png"] {
            XCTAssertEqual(FileManager.default.contents(atPath: path("a/\(name)")),
                           FileManager.default.contents(atPath: path("b/\(name)")), "same seed, same bytes")
        }
        XCTAssertNotEqual(FileManager.default.contents(atPath: path("a/patch_sample_000.png")),
                          FileManager.default.contents(atPath: path("a/patch_sample_001.png")))
    }

    func testRetargetWritesTheExactSize() throws {
        for (size, expected) in [("96x40", [96, 40]), ("30x55", [30, 55])] {
            let result = try DaemonHarness.execute(["retarget", Self.image, "--size", size, "-o", path("\(size).jpg")])
            XCTAssertEqual(result.status, 0, result.errors)
            XCTAssertEqual(try self.size(path("\(size).jpg")), expected)
        }
    }

    func testBadInputIsOneLineExitOneAndNothingWritten() throws {
        let cases: [([String], String)] = [
            (["retarget", Self.image, "--size", "5x40", "-o", path("small.png")],
             "singan retarget: an output of 5x40 is smaller than one 7x7 patch\n"),
            (["retarget", Self.image, "--size", "5000x40", "-o", path("large.png")],
             "singan retarget: an output of 5000x40 is over the limit of 4096 pixels a side\n"),
            (["patch-sample", Self.image, "--scale-h", "10", "--max-side", "400", "-o", path("dir")],
             "singan patch-sample: an output of 480x40 is over the limit of 400 pixels a side\n"),
            (["patch-sample", Self.image, "--structure", "40", "-o", path("dir")],
             "singan patch-sample: structure: 40 is out of range: this image has 5 pyramid levels, so it must be in 0...4\n"),
        ]
        for (arguments, message) in cases {
            let result = try DaemonHarness.execute(arguments)
            XCTAssertEqual(result.status, 1, arguments.joined(separator: " "))
            XCTAssertEqual(result.errors, message)
        }
        let garbage = path("garbage.png")
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: garbage))
        for arguments in [["retarget", garbage, "--size", "50x50", "-o", path("out.png")],
                          ["patch-sample", garbage, "-o", path("dir")]] {
            let result = try DaemonHarness.execute(arguments)
            XCTAssertEqual(result.status, 1)
            XCTAssertTrue(result.errors.hasPrefix("singan \(arguments[0]): image \(garbage) is not a usable image"), result.errors)
            XCTAssertEqual(result.errors.split(separator: "\n").count, 1, result.errors)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["garbage.png"], "nothing written")
    }

    func testInstantSamplePipelineThroughSinganRun() throws {
        let pipelines = folder.appendingPathComponent("pipelines")
        try FileManager.default.createDirectory(at: pipelines, withIntermediateDirectories: true)
        try Self.shippedPipeline("instant-sample").write(to: pipelines.appendingPathComponent("instant.yaml"),
                                                         atomically: true, encoding: .utf8)
        let input = path("photo.png")
        try FileManager.default.copyItem(atPath: Self.image, toPath: input)
        let (status, text) = try DaemonHarness.run(["run", pipelines.appendingPathComponent("instant.yaml").path, input,
                                                    "-o", path("out")])
        XCTAssertEqual(status, 0, text)
        let outputs = try FileManager.default.contentsOfDirectory(atPath: path("out")).sorted()
        XCTAssertEqual(outputs.count, 4, "\(outputs)")
        XCTAssertTrue(outputs.allSatisfy { $0.hasPrefix("photo_patch_") && $0.hasSuffix(".png") }, "\(outputs)")
        XCTAssertEqual(try size(path("out/\(outputs[0])")), [48, 40])
    }

    func testRetargetAndInstantSamplePipelinesInTheDaemon() throws {
        let d = try DaemonHarness(pipelines: ["retarget": try Self.shippedPipeline("retarget"),
                                              "instant-sample": try Self.shippedPipeline("instant-sample")])
        try d.start()
        for name in ["retarget", "instant-sample"] {
            try FileManager.default.createDirectory(at: d.url("staging"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: Self.image, toPath: d.url("staging/\(name).png").path)
            XCTAssertEqual(rename(d.url("staging/\(name).png").path, d.url("inbox/\(name)/photo.png").path), 0)
        }
        try d.waitFor("both jobs done", timeout: 120) {
            d.files("done/retarget") == ["photo.png"] && d.files("done/instant-sample") == ["photo.png"]
        }
        XCTAssertEqual(d.files("outbox/retarget"), ["photo_wide.png"])
        XCTAssertEqual(try size(d.url("outbox/retarget/photo_wide.png").path), [96, 40])
        XCTAssertEqual(d.files("outbox/instant-sample").count, 4)
        XCTAssertEqual(d.files("failed/retarget") + d.files("failed/instant-sample"), [])
        XCTAssertEqual(d.signal(SIGTERM), 0)
    }
}
