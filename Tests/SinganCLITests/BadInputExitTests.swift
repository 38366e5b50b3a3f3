import Foundation
import Vips
import XCTest

/// `singan train` and `singan sample` on bad input: exit status 1, one line on stderr naming
/// the file and the reason, and no output left behind.
final class BadInputExitTests: FolderTestCase {
    /// A finished 2-scale model trained for 2 iterations per scale, in the test's folder.
    private func trainedModel() throws -> String {
        let r = try Singan.run(["train", Singan.image, "-o", "good.singan"] + Singan.tinyTraining(iterations: 2), in: folder)
        XCTAssertEqual(r.status, 0, r.stderr)
        return "good.singan"
    }

    private func write(_ name: String, _ bytes: Data) {
        XCTAssertTrue(FileManager.default.createFile(atPath: folder.appendingPathComponent(name).path, contents: bytes))
    }

    private func bytes(_ name: String) throws -> Data { try Data(contentsOf: folder.appendingPathComponent(name)) }

    /// Names in the test's folder, hidden ones (temporaries of atomic writes) included.
    private var files: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted() }

    /// Runs singan and checks: exit 1, stderr is one line `singan COMMAND: ...` containing every
    /// `expected` part, nothing on stdout, and the folder holds exactly the same files as before.
    private func assertRefused(_ arguments: [String], _ expected: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let before = files
        let r = try Singan.run(arguments, in: folder)
        let context = "singan \(arguments.joined(separator: " ")): \(r.stderr)"
        XCTAssertEqual(r.status, 1, context, file: file, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("singan \(arguments[0]): "), context, file: file, line: line)
        XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, "one line: \(context)", file: file, line: line)
        for part in expected {
            XCTAssertTrue(r.stderr.contains(part), "'\(part)' missing from \(context)", file: file, line: line)
        }
        XCTAssertEqual(r.stdout, "", context, file: file, line: line)
        XCTAssertEqual(files, before, "files left behind by \(context)", file: file, line: line)
    }

    func testTrainRefusesUnreadableImages() throws {
        let options = Singan.tinyTraining(iterations: 2)
        try assertRefused(["train", "missing.png", "-o", "m.singan"] + options, ["missing.png: no such file"])
        write("garbage.png", Data((0..<300).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }))
        try assertRefused(["train", "garbage.png", "-o", "m.singan"] + options, ["garbage.png: unsupported image format"])
        write("truncated.png", try Data(contentsOf: URL(fileURLWithPath: Singan.image)).prefix(300))
        try assertRefused(["train", "truncated.png", "-o", "m.singan"] + options, ["truncated.png: truncated or corrupt image"])
        write("empty.png", Data())
        try assertRefused(["train", "empty.png", "-o", "m.singan"] + options, ["empty.png: empty file"])
    }

    func testTrainRefusesAnImageSmallerThanTheMinimumSize() throws {
        let pixels = [Float](repeating: 0.3, count: 3 * 18 * 16)
        try VipsImage.fromPlanarFloats(pixels, width: 16, height: 18, channels: 3)
            .save(to: folder.appendingPathComponent("small.png").path)
        try assertRefused(["train", "small.png", "-o", "m.singan", "--preset", "quick"],
                          ["small.png: image 16x18 is too small", "16 px", "minimum size 20 px"])
    }

    func testTrainRefusesUnwritableOutputsBeforeTraining() throws {
        write("file.txt", Data("x".utf8))
        let options = Singan.tinyTraining(iterations: 2)
        try assertRefused(["train", Singan.image, "-o", "missing/m.singan"] + options,
                          ["cannot write missing/m.singan", "does not exist"])
        try assertRefused(["train", Singan.image, "-o", "file.txt/m.singan"] + options,
                          ["cannot write file.txt/m.singan", "is not a folder"])
        // The report is checked up front too: no model is trained and written for nothing.
        try assertRefused(["train", Singan.image, "-o", "m.singan", "--report", "missing/r.json"] + options,
                          ["cannot write missing/r.json", "does not exist"])
    }

    func testSampleAndResumeRefuseDamagedModels() throws {
        let good = try bytes(try trainedModel())
        write("truncated.singan", good.prefix(good.count - 100))
        write("garbage.singan", Data((0..<300).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }))
        write("empty.singan", Data())
        var flipped = good
        flipped[good.count - 5] ^= 0x01
        write("flipped.singan", flipped)
        for (name, reason) in [("truncated.singan", "truncated model file"), ("garbage.singan", "corrupt model file"),
                               ("empty.singan", "truncated model file"), ("flipped.singan", "checksum")] {
            try assertRefused(["sample", name, "-o", "out", "-n", "2"], ["\(name): ", reason])
        }
        try assertRefused(["sample", "missing.singan", "-o", "out", "-n", "2"], ["model missing.singan does not exist"])
        // --resume refuses the damaged checkpoint and leaves it as it was.
        let damaged = try bytes("truncated.singan")
        try assertRefused(["train", Singan.image, "-o", "truncated.singan", "--resume"] + Singan.tinyTraining(iterations: 2),
                          ["truncated.singan: truncated model file"])
        XCTAssertEqual(try bytes("truncated.singan"), damaged)
    }

    func testSampleRefusesBadOptionsAndUnwritableFoldersWithoutCreatingAnything() throws {
        let model = try trainedModel()
        write("file.txt", Data("x".utf8))
        try assertRefused(["sample", model, "-o", "file.txt/out"], ["cannot write file.txt/out", "file.txt exists and is not a folder"])
        try assertRefused(["sample", model, "-o", "out", "--start-scale", "2"], ["start scale 2 is out of range", "0...1"])
        try assertRefused(["sample", model, "-o", "out", "--scale-h", "0"], ["parameter 'scale_h' must be in 0.1...10.0, got 0.0"])
        try assertRefused(["sample", model, "-o", "out", "--seed", "4294967296"], ["parameter 'seed' must be in 0...2147483647"])
        // The same command with valid options writes its samples (so the refusals above are real).
        let r = try Singan.run(["sample", model, "-o", "out/deeper", "-n", "2", "--start-scale", "1"], in: folder)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("out/deeper").path).sorted(),
                       ["sample_000.png", "sample_001.png"])
        XCTAssertEqual(r.stdout, "wrote 2 samples to out/deeper\n")
    }
}
