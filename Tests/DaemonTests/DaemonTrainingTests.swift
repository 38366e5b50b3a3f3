import Daemon
import Foundation
import Logging
import Plugins
import XCTest

/// Training that counts steps, saves a checkpoint when cancelled and resumes from it.
struct CheckpointingTrain: TaskPlugin {
    static let name = "train"
    static let summary = "Counts to `steps`, checkpointing on cancellation."
    static let parameters = ParameterSchema([.int("steps", default: 40, range: 1...1000, "steps to count")])
    static let inputs = TaskInputs(image: .required)
    static let isTraining = true
    static let record = Record()

    final class Record: @unchecked Sendable {
        private let lock = NSLock()
        private var _starts: [Int] = []
        private var _step = 0
        var starts: [Int] { lock.lock(); defer { lock.unlock() }; return _starts }
        var step: Int { lock.lock(); defer { lock.unlock() }; return _step }
        func started(at step: Int) { lock.lock(); _starts.append(step); _step = step; lock.unlock() }
        func reached(_ step: Int) { lock.lock(); _step = step; lock.unlock() }
    }

    func run(_ request: TaskRequest, context: TaskContext) throws -> [TaskArtifact] {
        let checkpoint = context.checkpointDirectory.appendingPathComponent("step.txt")
        let start = (try? String(contentsOf: checkpoint, encoding: .utf8)).flatMap { Int($0) } ?? 0
        Self.record.started(at: start)
        let steps = request.parameters.int("steps")
        for step in start..<steps {
            if context.cancellation.isCancelled {
                try "\(step)".write(to: checkpoint, atomically: true, encoding: .utf8)
                throw TaskCancelled()
            }
            Thread.sleep(forTimeInterval: 0.02)
            Self.record.reached(step + 1)
            context.report(progress: Double(step + 1) / Double(steps), "step \(step + 1)/\(steps)")
        }
        let model = context.outputURL("model.txt")
        try "0.25".write(to: model, atomically: true, encoding: .utf8)
        return [TaskArtifact(model, kind: .model)]
    }
}

final class DaemonTrainingTests: XCTestCase {
    func testStopDuringTrainingCheckpointsAndTheRestartResumes() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("training-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("pipelines"), withIntermediateDirectories: true)
        try """
            model: {train: {steps: 60}}
            steps:
              - task: sample
                params: {count: 1}
            """.write(to: root.appendingPathComponent("pipelines/s.yaml"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("inbox/s"), withIntermediateDirectories: true)
        try TestPlugins.solid(0.25, to: root.appendingPathComponent("inbox/s/photo.png"))

        var options = DaemonOptions(root: root)
        options.handleSignals = false
        let registry = PluginRegistry([CheckpointingTrain.self, Sample.self])
        func start() throws -> (Daemon, Thread) {
            let daemon = try Daemon(options: options, registry: registry, logger: Logger(label: "test"))
            let thread = Thread { try? daemon.run() }
            thread.start()
            return (daemon, thread)
        }

        let (first, firstThread) = try start()
        try waitUntil("training under way", upTo: 20) { CheckpointingTrain.record.step >= 10 }
        let journal = try SQLiteJournal(url: root.appendingPathComponent("journal.sqlite"))
        try waitUntil("progress journaled", upTo: 20) {
            guard let job = try? journal.jobs(in: [.running]).first else { return false }
            return job.progress > 0 && job.progress < 0.5 && job.note?.hasPrefix("train: step ") == true
        }
        first.stop()
        try waitUntil("first daemon stopped", upTo: 20) { firstThread.isFinished }
        XCTAssertEqual(try journal.jobs().map(\.state), [.queued])
        XCTAssertEqual(try journal.jobs().first?.attempts, 0, "a clean stop does not use up an attempt")
        let checkpointed = try XCTUnwrap(CheckpointingTrain.record.starts.last == 0 ? CheckpointingTrain.record.step : nil)

        let (second, secondThread) = try start()
        try waitUntil("job done", upTo: 20) { (try? journal.jobs().first?.state) == .done }
        second.stop()
        try waitUntil("second daemon stopped", upTo: 20) { secondThread.isFinished }
        XCTAssertEqual(CheckpointingTrain.record.starts.count, 2)
        XCTAssertGreaterThan(CheckpointingTrain.record.starts[1], 0, "training resumed from its checkpoint")
        XCTAssertLessThanOrEqual(CheckpointingTrain.record.starts[1], checkpointed)
        XCTAssertTrue(FileManager.default.fileExists(atPath: root.appendingPathComponent("outbox/s/photo_0.png").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: root.appendingPathComponent("done/s/photo.png").path))
        let models = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("cache/models").path)
        XCTAssertEqual(models.count, 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("cache/models/\(models[0])").path),
                       ["model.txt"], "checkpoints are dropped once the model is cached")
    }
}
