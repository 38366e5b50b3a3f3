import Foundation
import Vips
import XCTest

/// The real daemon as a process on a temporary root, with the built-in `resize` task.
final class DaemonProcessTests: XCTestCase {
    static let halve = """
        steps:
          - task: resize
            params: {factor: 0.5}
        output: {name: "{stem}_half"}
        """

    func testCopyRenameSlowWriteBurstAndIgnoredFiles() throws {
        let d = try DaemonHarness(pipelines: ["half": Self.halve])
        try DaemonHarness.image(d.url("inbox/half/present.png"))  // there before the daemon starts
        try d.start()
        let source = d.url("source.png")
        try DaemonHarness.image(source, size: 64)
        try FileManager.default.copyItem(at: source, to: d.url("inbox/half/copied.png"))
        try DaemonHarness.image(d.url("staging/renamed.png"))
        XCTAssertEqual(rename(d.url("staging/renamed.png").path, d.url("inbox/half/renamed.png").path), 0)
        try Data("x".utf8).write(to: d.url("inbox/half/.hidden.png"))
        try Data("x".utf8).write(to: d.url("inbox/half/download.png.part"))

        // Written slowly in pieces: must not be picked up before it is closed.
        let bytes = try Data(contentsOf: source)
        let fd = open(d.url("inbox/half/slow.png").path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        let piece = bytes.count / 4 + 1
        for start in stride(from: 0, to: bytes.count, by: piece) {
            let chunk = bytes[start..<min(start + piece, bytes.count)]
            XCTAssertEqual(chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }, chunk.count)
            Thread.sleep(forTimeInterval: 0.3)
        }
        close(fd)

        for i in 0..<20 { try DaemonHarness.image(d.url("staging/burst\(i).png")) }
        for i in 0..<20 { rename(d.url("staging/burst\(i).png").path, d.url("inbox/half/burst\(i).png").path) }

        let expected = (["present", "copied", "renamed", "slow"] + (0..<20).map { "burst\($0)" }).map { "\($0).png" }.sorted()
        try d.waitFor("24 inputs done", timeout: 60) {
            d.files("done/half") == expected && d.processing.isEmpty && d.logText.components(separatedBy: "job.done").count == 25
        }
        XCTAssertEqual(d.files("failed/half"), [])
        XCTAssertEqual(d.files("outbox/half"), expected.map { $0.replacingOccurrences(of: ".png", with: "_half.png") }.sorted())
        XCTAssertEqual(d.files("inbox/half", hidden: true), [".hidden.png", "download.png.part"])
        XCTAssertEqual(d.processing, [])
        let slow = try VipsImage.load(path: d.url("outbox/half/slow_half.png").path)
        XCTAssertEqual([slow.width, slow.height], [32, 32])
        XCTAssertEqual(d.logText.components(separatedBy: "job.done").count - 1, 24)

        let (status, text) = try DaemonHarness.run(["status", "--root", d.root.path])
        XCTAssertEqual(status, 0)
        XCTAssertTrue(text.contains("daemon: running"), text)
        XCTAssertTrue(text.contains("jobs: 0 queued, 0 running, 24 done, 0 failed"), text)
        XCTAssertEqual(d.signal(SIGTERM), 0)
    }

    func testPipelineEditsReloadAndInvalidEditsKeepTheLastGoodVersion() throws {
        let d = try DaemonHarness(pipelines: ["p": Self.halve])
        try d.start()
        try DaemonHarness.image(d.url("staging/a.png"), size: 40)
        rename(d.url("staging/a.png").path, d.url("inbox/p/a.png").path)
        try d.waitFor("a done") { d.files("done/p") == ["a.png"] }
        XCTAssertEqual(try VipsImage.load(path: d.url("outbox/p/a_half.png").path).width, 20)

        try d.writePipeline("p", Self.halve.replacingOccurrences(of: "0.5", with: "0.25"))
        try d.waitFor("reload") { d.logText.contains("pipeline.reloaded") }
        try DaemonHarness.image(d.url("staging/b.png"), size: 40)
        rename(d.url("staging/b.png").path, d.url("inbox/p/b.png").path)
        try d.waitFor("b done") { d.files("done/p").contains("b.png") }
        XCTAssertEqual(try VipsImage.load(path: d.url("outbox/p/b_half.png").path).width, 10)

        try d.writePipeline("p", Self.halve.replacingOccurrences(of: "factor", with: "factr"))
        try d.waitFor("invalid edit reported") { d.logText.contains("pipeline.invalid") }
        XCTAssertTrue(d.logText.contains("p.yaml:3:14: task 'resize': unknown parameter 'factr'"), d.logText)
        let (_, status) = try DaemonHarness.run(["status", "--root", d.root.path])
        XCTAssertTrue(status.contains("p: INVALID"), status)
        XCTAssertTrue(status.contains("keeping the last good version"), status)
        try DaemonHarness.image(d.url("staging/c.png"), size: 40)
        rename(d.url("staging/c.png").path, d.url("inbox/p/c.png").path)
        try d.waitFor("c done with the last good version") { d.files("done/p").contains("c.png") }
        XCTAssertEqual(try VipsImage.load(path: d.url("outbox/p/c_half.png").path).width, 10)
        XCTAssertEqual(d.signal(SIGINT), 0)
    }

    func testCorruptImageLateAndMissingSideFiles() throws {
        let d = try DaemonHarness(pipelines: ["m": """
            side_file_timeout: 1.5
            steps:
              - task: resize
                input: "{stem}_mask.png"
                params: {factor: 0.5}
            """])
        try d.start()
        try DaemonHarness.image(d.url("inbox/m/ok_mask.png"), size: 20)
        try DaemonHarness.image(d.url("inbox/m/ok.png"))
        try DaemonHarness.image(d.url("inbox/m/late.png"))
        try DaemonHarness.image(d.url("inbox/m/lonely.png"))
        try Data("definitely not a png".utf8).write(to: d.url("inbox/m/corrupt.png"))
        try DaemonHarness.image(d.url("inbox/m/corrupt_mask.png"))
        Thread.sleep(forTimeInterval: 0.5)
        try DaemonHarness.image(d.url("inbox/m/late_mask.png"), size: 20)

        try d.waitFor("all four finished") { d.files("done/m").count + d.files("failed/m").count == 9 && d.processing.isEmpty }
        XCTAssertEqual(d.files("done/m"), ["late.png", "late_mask.png", "ok.png", "ok_mask.png"])
        XCTAssertEqual(d.files("failed/m"), ["corrupt.png", "corrupt.png.error.txt", "corrupt_mask.png", "lonely.png", "lonely.png.error.txt"])
        XCTAssertEqual(try VipsImage.load(path: d.url("outbox/m/ok_0.png").path).width, 10)
        let lonely = try String(contentsOf: d.url("failed/m/lonely.png.error.txt"), encoding: .utf8)
        XCTAssertTrue(lonely.contains("side file lonely_mask.png did not arrive within 1.5 s"), lonely)
        let corrupt = try String(contentsOf: d.url("failed/m/corrupt.png.error.txt"), encoding: .utf8)
        XCTAssertTrue(corrupt.contains("input corrupt.png is not a usable image"), corrupt)
        XCTAssertEqual(d.files("inbox/m", hidden: true), [])
        XCTAssertEqual(d.signal(SIGTERM), 0)
    }

    func testKill9MidJobThenRestartFinishesEveryJobOnce() throws {
        let d = try DaemonHarness(pipelines: ["k": Self.halve])
        let names = (0..<8).map { "k\($0).png" }
        for name in names { try DaemonHarness.image(d.url("inbox/k/\(name)")) }
        try d.start(stepDelayMs: 400)
        try d.waitFor("some jobs done and others running") {
            d.logText.contains("job.done") && d.logText.components(separatedBy: "job.started").count > 3
        }
        _ = d.signal(SIGKILL)
        XCTAssertFalse(d.processing.isEmpty, "the kill must interrupt jobs")
        try d.start(stepDelayMs: 200)
        try d.waitFor("all done after restart") { d.files("done/k") == names.sorted() && d.processing.isEmpty }
        XCTAssertEqual(d.processing, [])
        XCTAssertEqual(d.files("failed/k"), [])
        XCTAssertEqual(d.files("outbox/k"), names.map { $0.replacingOccurrences(of: ".png", with: "_half.png") }.sorted())
        XCTAssertTrue(d.logText.contains("job.retry"), "interrupted jobs are retried")
        let (_, status) = try DaemonHarness.run(["status", "--root", d.root.path])
        XCTAssertTrue(status.contains("jobs: 0 queued, 0 running, 8 done, 0 failed"), status)
        XCTAssertEqual(d.signal(SIGTERM), 0)
    }

    func testKill9AtManyMomentsLosesAndRepeatsNothing() throws {
        let d = try DaemonHarness(pipelines: ["k": "max_attempts: 20\n" + Self.halve])
        let names = (0..<12).map { "n\($0).png" }
        for name in names { try DaemonHarness.image(d.url("staging/\(name)")) }
        try d.start(stepDelayMs: 60)
        for (i, name) in names.enumerated() {
            rename(d.url("staging/\(name)").path, d.url("inbox/k/\(name)").path)
            if i % 3 == 2 {
                // Kill at a different moment each time: mid-accept, mid-run, mid-finish.
                Thread.sleep(forTimeInterval: Double(i) * 0.013)
                _ = d.signal(SIGKILL)
                try d.start(stepDelayMs: 60)
            }
        }
        try d.waitFor("all done") { d.files("done/k") == names.sorted() && d.processing.isEmpty }
        XCTAssertEqual(d.files("failed/k"), [])
        XCTAssertEqual(d.files("inbox/k"), [])
        XCTAssertEqual(d.files("outbox/k"), names.map { $0.replacingOccurrences(of: ".png", with: "_half.png") }.sorted())
        let (_, status) = try DaemonHarness.run(["status", "--root", d.root.path])
        XCTAssertTrue(status.contains("jobs: 0 queued, 0 running, 12 done, 0 failed"), status)
        XCTAssertEqual(d.signal(SIGTERM), 0)
    }

    func testRepeatedCrashesFailTheJobAfterMaxAttempts() throws {
        let d = try DaemonHarness(pipelines: ["once": "max_attempts: 1\n" + Self.halve])
        try DaemonHarness.image(d.url("inbox/once/a.png"))
        try d.start(stepDelayMs: 5000)
        try d.waitFor("job started") { d.logText.contains("job.started") }
        _ = d.signal(SIGKILL)
        try d.start()
        try d.waitFor("failed") { d.files("failed/once") == ["a.png", "a.png.error.txt"] && d.processing.isEmpty }
        let reason = try String(contentsOf: d.url("failed/once/a.png.error.txt"), encoding: .utf8)
        XCTAssertTrue(reason.contains("interrupted 1 times"), reason)
        XCTAssertEqual(d.signal(SIGTERM), 0)
    }

    func testSigtermRequeuesRunningJobsAndExitsZero() throws {
        let d = try DaemonHarness(pipelines: ["t": Self.halve])
        try DaemonHarness.image(d.url("inbox/t/a.png"))
        try DaemonHarness.image(d.url("inbox/t/b.png"))
        try d.start(stepDelayMs: 10_000)
        try d.waitFor("both running") { d.logText.components(separatedBy: "job.started").count == 3 }
        let stopped = Date()
        XCTAssertEqual(d.signal(SIGTERM), 0)
        XCTAssertLessThan(Date().timeIntervalSince(stopped), 5, "a clean stop does not wait for the slow jobs")
        XCTAssertEqual(d.logText.components(separatedBy: "job.requeued").count - 1, 2)
        XCTAssertEqual(d.processing.count, 2)
        try d.start()
        try d.waitFor("done after restart") { d.files("done/t") == ["a.png", "b.png"] && d.processing.isEmpty }
        XCTAssertTrue(d.logText.contains("attempt=1 input=a.png"), "a clean stop does not use up an attempt")
        XCTAssertEqual(d.signal(SIGTERM), 0)
    }

    func testOutputsCannotLeaveTheRootThroughSymbolicLinks() throws {
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("outside-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: outside) }
        let d = try DaemonHarness(pipelines: ["p": Self.halve])
        try FileManager.default.createSymbolicLink(at: d.url("linked"), withDestinationURL: outside)
        try d.writePipeline("q", "outbox: linked/q\n" + Self.halve)
        try d.start()
        XCTAssertTrue(d.logText.contains("q.yaml: outbox: path \\\"linked/q\\\" leads out of the root through a symbolic link"), d.logText)

        // An outbox swapped for a link after loading fails the job, not the daemon.
        try FileManager.default.removeItem(at: d.url("outbox/p"))
        try FileManager.default.createSymbolicLink(at: d.url("outbox/p"), withDestinationURL: outside)
        try DaemonHarness.image(d.url("staging/a.png"))
        rename(d.url("staging/a.png").path, d.url("inbox/p/a.png").path)
        try d.waitFor("a failed") { d.files("failed/p") == ["a.png", "a.png.error.txt"] && d.processing.isEmpty }
        let reason = try String(contentsOf: d.url("failed/p/a.png.error.txt"), encoding: .utf8)
        XCTAssertTrue(reason.contains("leads out of the root through a symbolic link"), reason)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside.path), [])
        XCTAssertEqual(d.signal(SIGTERM), 0)
    }

    func testASecondDaemonOnTheSameRootIsRefused() throws {
        let d = try DaemonHarness(pipelines: ["p": Self.halve])
        try d.start()
        let (status, _) = try DaemonHarness.run(["daemon", "--root", d.root.path])
        XCTAssertEqual(status, 1)
        XCTAssertEqual(d.signal(SIGTERM), 0)
    }

    func testRunOverABatchWithOneBadFile() throws {
        let d = try DaemonHarness(pipelines: ["half": Self.halve])
        try DaemonHarness.image(d.url("batch/a.png"), size: 20)
        try DaemonHarness.image(d.url("batch/c.png"), size: 20)
        try Data("broken".utf8).write(to: d.url("batch/bad.png"))
        let inputs = ["a.png", "bad.png", "c.png"].map { d.url("batch/\($0)").path }
        let (status, text) = try DaemonHarness.run(["run", d.url("pipelines/half.yaml").path] + inputs + ["-o", d.url("out").path])
        XCTAssertEqual(status, 1)
        XCTAssertTrue(text.contains("FAILED  \(inputs[1]): input bad.png is not a usable image"), text)
        XCTAssertTrue(text.hasSuffix("2 of 3 succeeded; failed: \(inputs[1])\n"), text)
        XCTAssertEqual(d.files("out"), ["a_half.png", "c_half.png"])
        XCTAssertEqual(d.files("batch"), ["a.png", "bad.png", "c.png"], "run leaves its inputs in place")

        let (ok, _) = try DaemonHarness.run(["run", d.url("pipelines/half.yaml").path, inputs[0], "-o", d.url("out2").path])
        XCTAssertEqual(ok, 0)
        try d.writePipeline("broken", "steps:\n  - task: blur\n")
        let (invalid, _) = try DaemonHarness.run(["run", d.url("pipelines/broken.yaml").path, inputs[0]])
        XCTAssertEqual(invalid, 2)
    }

    func testTasksListsTheBuiltInPlugins() throws {
        let (status, text) = try DaemonHarness.run(["tasks"])
        XCTAssertEqual(status, 0)
        XCTAssertTrue(text.contains("resize — "), text)
        XCTAssertTrue(text.contains("factor: number in 0.01...16.0, default 1.0"), text)
    }
}
