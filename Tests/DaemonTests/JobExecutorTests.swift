import Daemon
import Foundation
import Logging
import Plugins
import SanitizerSlowdown
import Vips
import XCTest

final class JobExecutorTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("executor-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("in"), withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: root) }

    func pipeline(_ yaml: String) throws -> Pipeline {
        try PipelineParser(registry: TestPlugins.registry).parse(yaml: yaml, file: root.appendingPathComponent("pipelines/p.yaml"))
    }

    func run(_ p: Pipeline, executor: JobExecutor, image: URL, side: [NameTemplate: URL] = [:]) throws -> [String] {
        let out = root.appendingPathComponent("out")
        let input = JobInput(image: image, sideFiles: side, workDirectory: root.appendingPathComponent("work-\(UUID().uuidString)"),
                             outputDirectory: out)
        return try executor.run(p, on: input, cancellation: CancellationToken()).map { String($0.path.dropFirst(out.path.count + 1)) }
    }

    /// Trains, then samples two images (kept) and doubles each (step `big`).
    func trainSampleAndResize() throws -> Pipeline {
        try pipeline("""
            model: {train: {preset: quick}}
            steps:
              - task: sample
                params: {count: 2}
                keep: true
              - task: resize
                name: big
                params: {factor: 2}
            """)
    }

    func testTrainsOncePerImageContentAndChainsSteps() throws {
        let executor = JobExecutor(root: root, registry: TestPlugins.registry, logger: Logger(label: "test"))
        let p = try trainSampleAndResize()
        let a = root.appendingPathComponent("in/a.png"), b = root.appendingPathComponent("in/b.png")
        try TestPlugins.solid(0.5, to: a)
        try FileManager.default.copyItem(at: a, to: b)
        let runsBefore = FakeTrain.runs
        XCTAssertEqual(try run(p, executor: executor, image: a), ["a_sample_0.png", "a_sample_1.png", "a_big_0.png", "a_big_1.png"])
        XCTAssertEqual(try run(p, executor: executor, image: b).count, 4)
        XCTAssertEqual(FakeTrain.runs - runsBefore, 1, "same bytes under another name must hit the model cache")
        let big = try VipsImage.load(path: root.appendingPathComponent("out/a_big_1.png").path)
        XCTAssertEqual([big.width, big.height], [16, 16])

        let c = root.appendingPathComponent("in/c.png")
        try TestPlugins.solid(-0.5, to: c)
        _ = try run(p, executor: executor, image: c)
        XCTAssertEqual(FakeTrain.runs - runsBefore, 2)
    }

    func testLabelsSideFilesAndFormatConversion() throws {
        let executor = JobExecutor(root: root, registry: TestPlugins.registry, logger: Logger(label: "test"))
        let p = try pipeline("""
            steps:
              - task: edit
                side: {mask: "{stem}_mask.png"}
            output: {name: "{stem}_{label}", format: jpg}
            """)
        let image = root.appendingPathComponent("in/cat.png"), mask = root.appendingPathComponent("in/cat_mask.png")
        try TestPlugins.solid(0, to: image)
        try TestPlugins.solid(1, to: mask)
        XCTAssertEqual(try run(p, executor: executor, image: image, side: [p.sideFiles[0]: mask]), ["cat_masked.jpg", "cat_unmasked.jpg"])
        XCTAssertEqual(try VipsImage.load(path: root.appendingPathComponent("out/cat_masked.jpg").path).formatName?.hasPrefix("jpeg"), true)
        XCTAssertThrowsError(try run(p, executor: executor, image: image)) { XCTAssertEqual("\($0)", "side file cat_mask.png is missing") }
    }

    func testNamesThatCollideAreAllKept() throws {
        let executor = JobExecutor(root: root, registry: TestPlugins.registry, logger: Logger(label: "test"))
        try "0.5".write(to: root.appendingPathComponent("m.txt"), atomically: true, encoding: .utf8)
        let p = try pipeline("model: m.txt\nsteps:\n  - task: sample\n    params: {count: 3}\noutput: {name: \"{stem}\"}\n")
        let image = root.appendingPathComponent("in/x.png")
        try TestPlugins.solid(0, to: image)
        XCTAssertEqual(try run(p, executor: executor, image: image), ["x.png", "x-1.png", "x-2.png"])
    }

    func testCorruptAndOversizeInputsFailWithAReason() throws {
        let executor = JobExecutor(root: root, registry: TestPlugins.registry, logger: Logger(label: "test"))
        let p = try pipeline("max_pixels: 100\nsteps:\n  - task: resize\n")
        let corrupt = root.appendingPathComponent("in/bad.png")
        try Data("not an image".utf8).write(to: corrupt)
        XCTAssertThrowsError(try run(p, executor: executor, image: corrupt)) {
            XCTAssertTrue("\($0)".hasPrefix("input bad.png is not a usable image"), "\($0)")
        }
        let big = root.appendingPathComponent("in/big.png")
        try TestPlugins.solid(0, to: big, size: 20)
        XCTAssertThrowsError(try run(p, executor: executor, image: big)) {
            XCTAssertTrue("\($0)".contains("big.png is not a usable image"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("out").path), "no partial output")
    }
}

/// Copies its image; a run with `train: true` counts as training.
private struct MaybeTrains: TaskPlugin {
    static let name = "maybe-trains"
    static let summary = "Copies the image, training or not."
    static let parameters = ParameterSchema([.bool("train", default: false, "whether the run trains")])
    static let inputs = TaskInputs(image: .required)
    static let training = TrainingRule.whenTrue(parameter: "train")

    func run(_ request: TaskRequest, context: TaskContext) throws -> [TaskArtifact] {
        let url = context.outputURL("copy.png")
        try FileManager.default.copyItem(at: request.image!, to: url)
        return [TaskArtifact(url)]
    }
}

final class TrainingSlotTests: XCTestCase {
    func testOnlyRunsThatTrainWaitForTheTrainingSlot() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("slots-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let image = root.appendingPathComponent("a.png")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try TestPlugins.solid(0.5, to: image)
        let registry = PluginRegistry([MaybeTrains.self])
        let executor = JobExecutor(root: root, registry: registry, trainingSlots: 1, logger: Logger(label: "test"))
        @Sendable func run(training: Bool) throws {
            let pipeline = try PipelineParser(registry: registry).parse(
                yaml: "steps:\n  - task: maybe-trains\n    params: {train: \(training)}\n",
                file: root.appendingPathComponent("pipelines/p.yaml"))
            let input = JobInput(image: image, sideFiles: [:], workDirectory: root.appendingPathComponent("work-\(UUID().uuidString)"),
                                 outputDirectory: root.appendingPathComponent("out-\(training)"))
            XCTAssertEqual(try executor.run(pipeline, on: input, cancellation: CancellationToken()).count, 1)
        }

        // Another training run holds the only slot.
        let held = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        Thread { try? executor.gate.run(cancellation: CancellationToken()) { held.signal(); release.wait() } }.start()
        held.wait()
        try run(training: false)  // does not wait

        let finished = DispatchSemaphore(value: 0)
        Thread { try? run(training: true); finished.signal() }.start()
        XCTAssertEqual(finished.wait(timeout: .now() + 0.5), .timedOut, "a training run waits for the slot")
        release.signal()
        XCTAssertEqual(finished.wait(timeout: .now() + SanitizerSlowdown.seconds(10)), .success, "and runs once the slot is free")
    }
}

/// Progress values a run reported, in order.
private final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [(fraction: Double, note: String?)] = []
    func add(_ fraction: Double, _ note: String?) { lock.withLock { entries.append((fraction, note)) } }
    /// The fraction reported with `note`, the first time.
    func fraction(at note: String) -> Double? { lock.withLock { entries.first { $0.note == note }?.fraction } }
    var fractions: [Double] { lock.withLock { entries.map(\.fraction) } }
}

extension JobExecutorTests {
    /// A training fills the first 90% of the bar, the steps the rest; with the model cached, the
    /// steps fill all of it. The bar never goes back.
    func testProgressGivesTrainingMostOfTheBarOnlyWhenItTrains() throws {
        let executor = JobExecutor(root: root, registry: TestPlugins.registry, logger: Logger(label: "test"))
        let p = try trainSampleAndResize()
        let image = root.appendingPathComponent("in/a.png")
        try TestPlugins.solid(0.5, to: image)
        for (run, expected) in [("training", [0, 0.9, 0.95]), ("cached", [0, 0, 0.5])] {
            let log = ProgressLog()
            let input = JobInput(image: image, sideFiles: [:], workDirectory: root.appendingPathComponent("work-\(run)"),
                                 outputDirectory: root.appendingPathComponent("out-\(run)"))
            _ = try executor.run(p, on: input, cancellation: CancellationToken()) { log.add($0, $1) }
            let starts = [log.fraction(at: "train: starting") ?? 0, log.fraction(at: "sample: running"), log.fraction(at: "big: running")]
            for (got, want) in zip(starts, expected) {
                XCTAssertEqual(try XCTUnwrap(got, run), want, accuracy: 1e-9, run)
            }
            XCTAssertEqual(log.fraction(at: "train: starting") != nil, run == "training", run)
            XCTAssertEqual(log.fractions, log.fractions.sorted(), "\(run): the bar never goes back")
        }
    }
}
