import Engine
import Foundation
import SinGAN
import XCTest

/// `singan train` killed with SIGKILL mid-scale loses at most 100 iterations (the checkpoint
/// interval), and `--resume` then gives the model of an uninterrupted run, bit for bit.
final class TrainKillResumeTests: FolderTestCase {
    /// 2 scales of 250 iterations: checkpoints at iterations 100 and 200 of each scale.
    private let options = Singan.tinyTraining(iterations: 250) + ["--log-interval", "0"]

    func testKillNineMidScaleThenResumeGivesTheUninterruptedModel() throws {
        let straight = try Singan.run(["train", Singan.image, "-o", "straight.singan"] + options, in: folder)
        XCTAssertEqual(straight.status, 0, straight.stderr)

        // Kill once the second scale is past its first mid-scale checkpoint (iteration 100).
        let run = SinganProcess(["train", Singan.image, "-o", "model.singan"] + options, in: folder)
        try run.start()
        try run.waitForStderr("scale 2 iteration 150", timeout: 120) { text in
            progress(in: text).contains { $0.scale == 2 && $0.iteration >= 150 }
        }
        run.send(SIGKILL)
        run.waitUntilExit()
        XCTAssertEqual(run.terminationReason, .uncaughtSignal)
        XCTAssertEqual(run.status, SIGKILL)

        // Every completed iteration logs a line, so the last line is where the kill landed.
        let killedAt = try XCTUnwrap(progress(in: run.stderr).last)
        XCTAssertEqual(killedAt.scale, 2)
        let checkpoint = try position(of: folder.appendingPathComponent("model.singan").path)
        XCTAssertEqual(checkpoint.scale, 1, "the checkpoint's scale (0-based) is the killed one")
        XCTAssertEqual(checkpoint.iteration, killedAt.iteration - killedAt.iteration % 100,
                       "the checkpoint is the last multiple of 100 before iteration \(killedAt.iteration)")
        XCTAssertGreaterThanOrEqual(checkpoint.iteration, 100, "a mid-scale checkpoint, not the scale's start")
        XCTAssertLessThanOrEqual(killedAt.iteration - checkpoint.iteration, 100, "iterations lost")

        let resumed = try Singan.run(["train", Singan.image, "-o", "model.singan", "--resume"] + options, in: folder)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("resuming model.singan"), resumed.stderr)
        let first = try XCTUnwrap(progress(in: resumed.stderr).first)
        XCTAssertEqual(first.scale, 2)
        XCTAssertEqual(first.iteration, checkpoint.iteration + 1, "the resumed run starts after the checkpoint")

        let model = try Data(contentsOf: folder.appendingPathComponent("model.singan"))
        XCTAssertEqual(model, try Data(contentsOf: folder.appendingPathComponent("straight.singan")),
                       "the resumed model equals the uninterrupted one byte for byte")
        XCTAssertNoThrow(try SinGANModel.load(from: folder.appendingPathComponent("model.singan").path))
    }

    /// A `kill -9` while a checkpoint is written leaves its hidden temporary beside the model: a
    /// fresh run and a `--resume` remove the model's own temporaries and nothing else.
    func testTrainAndResumeRemoveStaleTemporariesOfTheirModelOnly() throws {
        let stale = [".model.singan.0F3A9C1B.tmp", ".model.singan.DEADBEEF.tmp"]
        let kept = [".other.tmp", ".model.singan.tmp", ".model.singan.draft.tmp", ".other.singan.0F3A9C1B.tmp",
                    "model.singan.0F3A9C1B.tmp"]
        func plant(_ names: [String]) {
            for name in names {
                XCTAssertTrue(FileManager.default.createFile(atPath: folder.appendingPathComponent(name).path, contents: Data("x".utf8)))
            }
        }
        var files: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted() }
        plant(stale + kept)

        // A fresh run, stopped by SIGTERM after its first iteration: it leaves a checkpoint.
        let run = SinganProcess(["train", Singan.image, "-o", "model.singan"] + options, in: folder)
        try run.start()
        try run.waitForStderr("a first iteration", timeout: 60) { !progress(in: $0).isEmpty }
        run.send(SIGTERM)
        run.waitUntilExit()
        XCTAssertEqual(run.status, 143, run.stderr)
        for name in stale {
            XCTAssertTrue(run.stderr.contains("/\(name), left by an interrupted write"), run.stderr)
        }
        XCTAssertEqual(files, (kept + ["model.singan"]).sorted(), "only the model's temporaries are removed")

        plant([stale[0]])
        let resumed = try Singan.run(["train", Singan.image, "-o", "model.singan", "--resume"] + options, in: folder)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("resuming model.singan"), resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("/\(stale[0]), left by an interrupted write"), resumed.stderr)
        XCTAssertEqual(files, (kept + ["model.singan"]).sorted(), "only the model's temporaries are removed")
    }

    /// (scale 1-based, iteration) of every progress line of `singan train` in `text`.
    private func progress(in text: String) -> [(scale: Int, iteration: Int)] {
        text.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            guard words.count >= 4, words[0] == "scale", words[2] == "iter",
                  let scale = words[1].split(separator: "/").first.flatMap({ Int($0) }),
                  let iteration = words[3].split(separator: "/").first.flatMap({ Int($0) }) else { return nil }
            return (scale, iteration)
        }
    }

    /// (scale 0-based, iteration) of the unfinished run whose checkpoint is at `path`.
    private func position(of path: String) throws -> (scale: Int, iteration: Int) {
        let file = try SafeTensorsFile.read(from: path)
        XCTAssertEqual(file.metadata["status"], "training")
        let json = try XCTUnwrap(file.metadata["training"], "checkpoint metadata 'training'")
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        return (try XCTUnwrap(object["scale"] as? Int), try XCTUnwrap(object["iteration"] as? Int))
    }
}
