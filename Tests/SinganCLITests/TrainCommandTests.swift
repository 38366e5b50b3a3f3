import Foundation
import SinGAN
import XCTest

/// `singan train`'s rules for its model file and its messages, as it runs the train task: it
/// continues a checkpoint only with `--resume` (with the checkpoint's own settings), never removes
/// an existing model at the start, and says what it did in fixed words.
final class TrainCommandTests: FolderTestCase {
    /// 2 scales of 250 iterations: long enough to be stopped by a signal.
    private let options = Singan.tinyTraining(iterations: 250) + ["--log-interval", "0"]

    private func bytes(_ name: String) throws -> Data { try Data(contentsOf: folder.appendingPathComponent(name)) }

    /// A run stopped by `signal` after its first iteration: checks its exit status and message and
    /// returns its stderr. It leaves the checkpoint `model.singan` (seed 11, 250 iterations).
    @discardableResult
    private func stoppedRun(_ signal: Int32 = SIGTERM, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let run = SinganProcess(["train", Singan.image, "-o", "model.singan"] + options, in: folder)
        try run.start()
        try run.waitForStderr("a first iteration", timeout: 60) { $0.contains("scale 1/2  iter 1/250") }
        run.send(signal)
        run.waitUntilExit()
        let name = signal == SIGTERM ? "SIGTERM" : "SIGINT"
        XCTAssertEqual(run.status, 128 + signal, run.stderr, file: file, line: line)
        XCTAssertTrue(run.stderr.hasSuffix("\nsingan train: stopped by \(name); progress saved in model.singan, continue with --resume\n"),
                      run.stderr, file: file, line: line)
        XCTAssertEqual(run.stdout, "", file: file, line: line)
        XCTAssertEqual(try SafeTensorsFile.read(from: folder.appendingPathComponent("model.singan").path).metadata["status"],
                       "training", file: file, line: line)
        return run.stderr
    }

    /// `--resume` alone continues with the checkpoint's settings (not the default preset's), and
    /// the report has the trainer's log of every scale and says the run resumed.
    func testResumeUsesTheCheckpointsSettingsAndReportsTheWholeRun() throws {
        try stoppedRun(SIGINT)
        let r = try Singan.run(["train", Singan.image, "-o", "model.singan", "--resume", "--report", "r.json", "--log-interval", "0"],
                               in: folder)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("singan train: resuming model.singan\n"), r.stderr)
        // The time as `formatDuration` writes it: "9s", "1m47s" (a run under ThreadSanitizer), "1h02m".
        let result = try NSRegularExpression(pattern: #"^trained 2 scales \(32x27 px\) in ([0-9]+s|[0-9]+m[0-9]{2}s|[0-9]+h[0-9]{2}m) -> model\.singan\n$"#)
        XCTAssertNotNil(result.firstMatch(in: r.stdout, range: NSRange(r.stdout.startIndex..., in: r.stdout)), r.stdout)

        let model = try SinGANModel.load(from: folder.appendingPathComponent("model.singan").path)
        XCTAssertEqual([model.config.maxSize, model.config.iterations, model.config.baseChannels], [32, 250, 8])
        XCTAssertEqual(model.config.seed, 11)
        let report = try JSONDecoder().decode(TrainingReport.self, from: try bytes("r.json"))
        XCTAssertTrue(report.resumed)
        XCTAssertEqual([report.image, report.model], [Singan.image, "model.singan"])
        XCTAssertEqual(report.config, model.config)
        XCTAssertEqual(report.scales.map(\.scale), [0, 1])
        XCTAssertEqual(report.scales.map(\.noiseAmplitude), model.scales.map(\.sigma))
        XCTAssertNil(report.scales[0].noiseFloor)
        XCTAssertGreaterThan(try XCTUnwrap(report.scales[1].noiseFloor), 0)
        XCTAssertTrue(report.scales.allSatisfy { $0.seconds > 0 && $0.iterations == 250 })
        XCTAssertEqual(report.totalSeconds, report.scales.reduce(0) { $0 + $1.seconds })
    }

    /// Without `--resume` a checkpoint is not continued, and failing runs leave it as it was.
    func testWithoutResumeAModelIsNeitherContinuedNorRemovedAtTheStart() throws {
        try stoppedRun()
        let checkpoint = try bytes("model.singan")
        var r = try Singan.run(["train", "missing.png", "-o", "model.singan"] + options, in: folder)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.stderr, "singan train: missing.png: no such file\n", "the image error as training gives it")
        r = try Singan.run(["train", Singan.image, "-o", "model.singan", "--preset", "quick", "--max-size", "20"], in: folder)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.hasSuffix("image 48x40 is too small: at max size 20 its shorter side becomes 17 px, below the minimum size 20 px\n"),
                      r.stderr)
        XCTAssertEqual(try bytes("model.singan"), checkpoint, "failed runs leave the model file alone")

        // The same options again: a new run, from its first iteration (the daemon would resume).
        let again = try stoppedRun()
        XCTAssertFalse(again.contains("resuming"), again)
        XCTAssertTrue(again.hasPrefix("scale 1/2  iter 1/250 "), again)

        r = try Singan.run(["train", Singan.image, "-o", "model.singan", "--report", "r.json"] + Singan.tinyTraining(iterations: 2)
                           + ["--log-interval", "0"], in: folder)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stderr.contains("resuming"), r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("scale 1/2  iter 1/2 "), "a new run from its first iteration: \(r.stderr)")
        XCTAssertEqual(try SinGANModel.load(from: folder.appendingPathComponent("model.singan").path).config.iterations, 2)
        XCTAssertFalse(try JSONDecoder().decode(TrainingReport.self, from: try bytes("r.json")).resumed)
    }

    /// `--resume` with options that contradict the checkpoint says which, with the checkpoint's
    /// values, and leaves it as it was; `--resume` without a model starts a new run.
    func testResumeRefusesOptionsThatContradictTheCheckpoint() throws {
        try stoppedRun()
        let checkpoint = try bytes("model.singan")
        let r = try Singan.run(["train", Singan.image, "-o", "model.singan", "--resume", "--max-size", "40", "--seed", "12",
                                "--min-size", "24", "--iters", "250"], in: folder)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.stderr, "singan train: cannot resume from model.singan: the checkpoint was started with --max-size 32, "
                       + "--seed 11; drop those options or start anew without --resume\n")
        XCTAssertEqual(try bytes("model.singan"), checkpoint)

        let fresh = try Singan.run(["train", Singan.image, "-o", "other.singan", "--resume"] + Singan.tinyTraining(iterations: 2),
                                   in: folder)
        XCTAssertEqual(fresh.status, 0, fresh.stderr)
        XCTAssertTrue(fresh.stderr.hasPrefix("singan train: other.singan does not exist yet, starting a new run\n"), fresh.stderr)
    }

    /// `--seed` has the train task's range, the one of every seed.
    func testSeedOutOfTheTasksRangeIsRefused() throws {
        let r = try Singan.run(["train", Singan.image, "-o", "model.singan"] + Singan.tinyTraining(iterations: 2, seed: 4_294_967_296),
                               in: folder)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.stderr, "singan train: parameter 'seed' must be in 0...2147483647, got 4294967296\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.singan").path))
    }
}
