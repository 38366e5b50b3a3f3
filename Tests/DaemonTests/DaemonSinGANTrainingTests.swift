import Daemon
import Foundation
import XCTest

/// The real daemon training a real (tiny) SinGAN, stopped by SIGTERM mid-training and restarted.
final class DaemonSinGANTrainingTests: XCTestCase {
    /// 4 scales of 25 iterations (max size 40, min size 16): several seconds of training.
    static let pipeline = """
        model: {train: {preset: quick, max_size: 40, min_size: 16, iterations: 25, seed: 3}}
        steps:
          - task: sample
            params: {count: 1, seed: 0}
        """

    func testSigtermDuringTrainingCheckpointsAndTheRestartResumes() throws {
        let d = try DaemonHarness(pipelines: ["s": Self.pipeline])
        try d.start()
        let image = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../examples/balloons.png")
        try FileManager.default.createDirectory(at: d.url("staging"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: image, to: d.url("staging/balloons.png"))
        XCTAssertEqual(rename(d.url("staging/balloons.png").path, d.url("inbox/s/balloons.png").path), 0)

        let journal = try SQLiteJournal(url: d.url("journal.sqlite"))
        try d.waitFor("training at scale 2 of 4", timeout: 60) {
            let note = (try? journal.jobs(in: [.running]).first?.note) ?? nil
            return note?.hasPrefix("train: scale 2/4") == true || note?.hasPrefix("train: scale 3/4") == true
        }
        XCTAssertEqual(d.signal(SIGTERM), 0)
        let stopped = try XCTUnwrap(Self.position("train.checkpointed", in: d.logText), d.logText)
        XCTAssertGreaterThan(stopped, 25, "stopped after scale 1")
        let models = d.files("cache/models")
        XCTAssertEqual(models.count, 1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: d.url("cache/models/\(models.first ?? "")/checkpoints/training.singan").path),
                      "the stop wrote a checkpoint")
        XCTAssertEqual(try journal.jobs().map(\.state), [.queued])

        try d.start()
        try d.waitFor("the job done", timeout: 60) { d.files("done/s") == ["balloons.png"] && d.processing.isEmpty }
        let resumed = try XCTUnwrap(Self.position("train.resumed", in: d.logText), "training restarted instead of resuming:\n\(d.logText)")
        XCTAssertEqual(resumed, stopped, "training continued where it stopped")
        XCTAssertEqual(d.files("outbox/s"), ["balloons_0.png"])
        XCTAssertEqual(d.files("cache/models/\(models[0])"), ["model.singan"], "the checkpoint is dropped once the model is cached")
        XCTAssertEqual(d.signal(SIGTERM), 0)
    }

    /// Iterations done at the first log line of `event`: `scale=S/N iteration=I/M` is (S-1)*M + I.
    static func position(_ event: String, in log: String) -> Int? {
        guard let line = log.split(separator: "\n").first(where: { $0.contains(" \(event) ") }) else { return nil }
        func field(_ key: String) -> (Int, Int)? {
            guard let word = line.split(separator: " ").first(where: { $0.hasPrefix("\(key)=") }) else { return nil }
            let parts = word.dropFirst(key.count + 1).split(separator: "/").compactMap { Int($0) }
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }
        guard let scale = field("scale"), let iteration = field("iteration") else { return nil }
        return (scale.0 - 1) * iteration.1 + iteration.0
    }
}
