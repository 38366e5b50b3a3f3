import Daemon
import Foundation
import Logging
import Plugins
import SanitizerSlowdown
import XCTest

/// A task that ignores cancellation, as a worker stuck in a read or a long kernel would.
struct Stuck: TaskPlugin {
    static let name = "stuck"
    static let summary = "Blocks until released, deaf to cancellation."
    static let parameters = ParameterSchema([])
    static let inputs = TaskInputs(image: .required)
    static let entered = DispatchSemaphore(value: 0)
    private static let never = DispatchSemaphore(value: 0)

    func run(_ request: TaskRequest, context: TaskContext) throws -> [TaskArtifact] {
        Self.entered.signal()
        Self.never.wait()
        throw TaskError("released")
    }
}

final class BoundedShutdownTests: XCTestCase {
    func testAStopEndsWithinTheTimeoutAndRequeuesWhatDidNotFinish() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("shutdown-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("pipelines"), withIntermediateDirectories: true)
        try "steps:\n  - task: stuck\n".write(to: root.appendingPathComponent("pipelines/s.yaml"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("inbox/s"), withIntermediateDirectories: true)
        try TestPlugins.solid(0.25, to: root.appendingPathComponent("inbox/s/photo.png"))

        var options = DaemonOptions(root: root)
        options.handleSignals = false
        options.shutdownTimeout = 1
        let daemon = try Daemon(options: options, registry: PluginRegistry([Stuck.self]), logger: Logger(label: "test"))
        let thread = Thread { try? daemon.run() }
        thread.start()
        XCTAssertEqual(Stuck.entered.wait(timeout: .now() + SanitizerSlowdown.seconds(20)), .success)
        let stopped = Date()
        daemon.stop()
        while !thread.isFinished && Date().timeIntervalSince(stopped) < 20 { Thread.sleep(forTimeInterval: 0.02) }
        XCTAssertTrue(thread.isFinished)
        let took = Date().timeIntervalSince(stopped)
        XCTAssertGreaterThanOrEqual(took, 1)
        XCTAssertLessThan(took, 5)
        let journal = try SQLiteJournal(url: root.appendingPathComponent("journal.sqlite"))
        let job = try XCTUnwrap(try journal.jobs().first)
        XCTAssertEqual(job.state, .queued)
        XCTAssertEqual(job.attempts, 0, "a stop does not use up an attempt")
        XCTAssertEqual(job.note, "did not stop within 1 s; resumes at the next start")
        // The stuck worker stays blocked until the test process ends, as it would have in the daemon.
    }
}

/// Training that takes `seconds` (cancellable) and writes a text model.
struct SlowTrain: TaskPlugin {
    static let name = "train"
    static let summary = "Waits, then writes a model."
    static let parameters = ParameterSchema([.double("seconds", default: 3, range: 0...60, "how long")])
    static let inputs = TaskInputs(image: .required)
    static let isTraining = true

    func run(_ request: TaskRequest, context: TaskContext) throws -> [TaskArtifact] {
        try context.cancellation.sleep(seconds: request.parameters.double("seconds"))
        let model = context.outputURL("model.txt")
        try "0.25".write(to: model, atomically: true, encoding: .utf8)
        return [TaskArtifact(model, kind: .model)]
    }
}

final class TrainingSlotWorkerTests: XCTestCase {
    func testJobsWaitingForTheTrainingSlotHoldNoWorker() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("slot-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let fm = FileManager.default
        try fm.createDirectory(at: root.appendingPathComponent("pipelines"), withIntermediateDirectories: true)
        try "model: {train: {seconds: 4}}\nsteps:\n  - task: sample\n    params: {count: 1}\n"
            .write(to: root.appendingPathComponent("pipelines/t.yaml"), atomically: true, encoding: .utf8)
        try "steps:\n  - task: resize\n".write(to: root.appendingPathComponent("pipelines/r.yaml"), atomically: true, encoding: .utf8)
        try fm.createDirectory(at: root.appendingPathComponent("inbox/t"), withIntermediateDirectories: true)
        try fm.createDirectory(at: root.appendingPathComponent("inbox/r"), withIntermediateDirectories: true)
        // Two images of different content: two trainings, one slot.
        try TestPlugins.solid(0.25, to: root.appendingPathComponent("inbox/t/a.png"))
        try TestPlugins.solid(-0.5, to: root.appendingPathComponent("inbox/t/b.png"))

        var options = DaemonOptions(root: root)
        options.handleSignals = false
        options.workers = 2
        let daemon = try Daemon(options: options, registry: PluginRegistry([SlowTrain.self, Sample.self, ResizePlugin.self]),
                                logger: Logger(label: "test"))
        let thread = Thread { try? daemon.run() }
        thread.start()
        let journal = try SQLiteJournal(url: root.appendingPathComponent("journal.sqlite"))
        // Both training jobs hold their worker (one trains, one waits for the slot) ...
        try waitUntil("both training jobs running", upTo: 30) { ((try? journal.counts()) ?? [:])[.running] == 2 }
        let dropped = Date()
        try TestPlugins.solid(0.5, to: root.appendingPathComponent("inbox/r/fast.png"))
        // ... yet the fast job runs at once, not after the first training (4 s).
        try waitUntil("the fast job done", upTo: 30) { fm.fileExists(atPath: root.appendingPathComponent("done/r/fast.png").path) }
        XCTAssertLessThan(Date().timeIntervalSince(dropped), 3)
        try waitUntil("both trainings done", upTo: 30) { ((try? journal.counts()) ?? [:])[.done] == 3 }
        daemon.stop()
        try waitUntil("stopped", upTo: 30) { thread.isFinished }
    }
}
