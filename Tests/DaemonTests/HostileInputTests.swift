import Foundation
import XCTest

/// What a hostile user or an unlucky operator can put under a root ends in a clear, logged
/// outcome, with nothing lost and the daemon still serving (issue 14).
final class HostileInputTests: XCTestCase {
    func testLinksFIFOsAndDevicesFailUnreadAndTheDaemonKeepsServing() throws {
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("outside-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: outside) }
        try DaemonHarness.image(outside.appendingPathComponent("secret.png"))
        let d = try DaemonHarness(pipelines: ["half": DaemonProcessTests.halve])
        let fm = FileManager.default
        // One link there before the daemon starts, the rest renamed in while it runs.
        try fm.createDirectory(at: d.url("inbox/half"), withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: d.url("inbox/half/early.png").path, withDestinationPath: "/dev/zero")
        try d.start()
        try fm.createDirectory(at: d.url("staging"), withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: d.url("staging/zero.png").path, withDestinationPath: "/dev/zero")
        XCTAssertEqual(mkfifo(d.url("staging/fifo.png").path, 0o644), 0)
        try fm.createSymbolicLink(atPath: d.url("staging/outside.png").path,
                                  withDestinationPath: outside.appendingPathComponent("secret.png").path)
        for name in ["zero.png", "fifo.png", "outside.png"] {
            XCTAssertEqual(rename(d.url("staging/\(name)").path, d.url("inbox/half/\(name)").path), 0)
        }
        try DaemonHarness.image(d.url("staging/good.png"))
        XCTAssertEqual(rename(d.url("staging/good.png").path, d.url("inbox/half/good.png").path), 0)

        let bad = ["early.png", "fifo.png", "outside.png", "zero.png"]
        try d.waitFor("special files failed, the image done", timeout: 30) {
            d.files("failed/half") == bad.flatMap { [$0, $0 + ".error.txt"] }.sorted()
                && d.files("done/half") == ["good.png"] && d.processing.isEmpty
        }
        XCTAssertEqual(d.files("outbox/half"), ["good_half.png"])
        for (name, kind) in [("zero.png", "a symbolic link"), ("fifo.png", "a FIFO (named pipe)"), ("outside.png", "a symbolic link")] {
            let reason = try String(contentsOf: d.url("failed/half/\(name).error.txt"), encoding: .utf8)
            XCTAssertTrue(reason.contains("error: \(name) is \(kind), not a regular file; only regular files are processed"), reason)
        }
        // The links were moved, not their targets.
        XCTAssertEqual(try fm.destinationOfSymbolicLink(atPath: d.url("failed/half/zero.png").path), "/dev/zero")
        XCTAssertTrue(fm.fileExists(atPath: outside.appendingPathComponent("secret.png").path))

        let stopped = Date()
        XCTAssertEqual(d.signal(SIGTERM), 0)
        XCTAssertLessThan(Date().timeIntervalSince(stopped), 5)
    }

    func testTheCommandLineRefusesSpecialFilesAtOnce() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("special-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let zero = folder.appendingPathComponent("zero.png").path
        try FileManager.default.createSymbolicLink(atPath: zero, withDestinationPath: "/dev/zero")
        let fifo = folder.appendingPathComponent("fifo.png").path
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        let pipeline = folder.appendingPathComponent("half.yaml")
        try DaemonProcessTests.halve.write(to: pipeline, atomically: true, encoding: .utf8)
        let started = Date()
        for (path, kind) in [(zero, "a character device"), (fifo, "a FIFO (named pipe)")] {
            let info = try DaemonHarness.execute(["info", path])
            XCTAssertEqual(info.status, 1)
            XCTAssertEqual(info.errors, "singan info: \(path): \(kind), not a regular file; only regular files are read\n")
            let run = try DaemonHarness.execute(["run", pipeline.path, path, "-o", folder.appendingPathComponent("out").path])
            XCTAssertEqual(run.status, 1)
            XCTAssertTrue(run.output.contains("FAILED  \(path): input \(URL(fileURLWithPath: path).lastPathComponent) is not a usable image: \(path): \(kind)"), run.output)
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
    }

    /// A PNG claiming 1000000 x 1 RGB pixels: signature, IHDR, an IDAT holding one byte of the
    /// 3000001 its rows need, IEND. libpng only warns ("Not enough image data"); `info` printed
    /// the size and exited 0 although the README promises exit 1 for a truncated file.
    static let pixelDataCutShort = Data([
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A,
        0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x0F, 0x42, 0x40, 0x00, 0x00, 0x00, 0x01,
        0x08, 0x02, 0x00, 0x00, 0x00, 0x1D, 0xBF, 0x00, 0x1F,
        0x00, 0x00, 0x00, 0x0C, 0x49, 0x44, 0x41, 0x54, 0x78, 0x01, 0x01, 0x01, 0x00, 0xFE, 0xFF, 0x00,
        0x00, 0x01, 0x00, 0x01, 0xF7, 0x8D, 0x01, 0x51,
        0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ])

    func testAPNGWithoutItsPixelDataIsRefusedByInfoRunAndTheDaemon() throws {
        let d = try DaemonHarness(pipelines: ["half": DaemonProcessTests.halve])
        let file = d.url("wide.png")
        try Self.pixelDataCutShort.write(to: file)
        let info = try DaemonHarness.execute(["info", file.path])
        XCTAssertEqual(info.status, 1, info.output)
        XCTAssertEqual(info.output, "")
        XCTAssertTrue(info.errors.hasPrefix("singan info: \(file.path): truncated or corrupt image ("), info.errors)
        let run = try DaemonHarness.execute(["run", d.url("pipelines/half.yaml").path, file.path, "-o", d.url("out").path])
        XCTAssertEqual(run.status, 1, run.output)
        XCTAssertTrue(run.output.contains("FAILED  \(file.path): "), run.output)
        XCTAssertTrue(run.output.contains("\(file.path): truncated or corrupt image ("), run.output)
        XCTAssertEqual(d.files("out"), [])

        try d.start()
        try FileManager.default.createDirectory(at: d.url("inbox/half"), withIntermediateDirectories: true)
        XCTAssertEqual(rename(file.path, d.url("inbox/half/wide.png").path), 0)
        try d.waitFor("refused") { d.files("failed/half") == ["wide.png", "wide.png.error.txt"] && d.processing.isEmpty }
        let reason = try String(contentsOf: d.url("failed/half/wide.png.error.txt"), encoding: .utf8)
        XCTAssertTrue(reason.contains("wide.png: truncated or corrupt image ("), reason)
        XCTAssertEqual(d.files("outbox/half"), [])
        XCTAssertEqual(try Data(contentsOf: d.url("failed/half/wide.png")), Self.pixelDataCutShort, "the input kept as it was")
        XCTAssertEqual(d.signal(SIGTERM), 0)
    }

    func testADeeplyNestedPipelineIsRefusedWithItsPositionAndTheLastGoodVersionKept() throws {
        let d = try DaemonHarness(pipelines: ["p": DaemonProcessTests.halve])
        try d.start()
        let bomb = "steps: " + String(repeating: "[", count: 5000) + "\n"
        try d.writePipeline("p", bomb)
        try d.writePipeline("q", bomb)
        try d.waitFor("both refused") { d.logText.components(separatedBy: "pipeline.invalid").count == 3 }
        XCTAssertTrue(d.logText.contains("p.yaml:1:71: nesting deeper than 64 levels"), d.logText)
        try DaemonHarness.image(d.url("staging/a.png"), size: 40)
        rename(d.url("staging/a.png").path, d.url("inbox/p/a.png").path)
        try d.waitFor("a done with the last good version") { d.files("done/p") == ["a.png"] }
        XCTAssertEqual(d.signal(SIGTERM), 0)

        // The file is still there at the next start: refused again, not a crash loop.
        try d.start()
        let (status, text) = try DaemonHarness.run(["status", "--root", d.root.path])
        XCTAssertEqual(status, 0)
        XCTAssertTrue(text.contains("p: INVALID"), text)
        let run = try DaemonHarness.execute(["run", d.url("pipelines/q.yaml").path, d.url("done/p/a.png").path])
        XCTAssertEqual(run.status, 2)
        XCTAssertTrue(run.errors.contains("q.yaml:1:71: nesting deeper than 64 levels"), run.errors)
        XCTAssertEqual(d.signal(SIGTERM), 0)
    }

    func testAliasedFoldersAreRefusedAndTheRootsOwnFilesStayPut() throws {
        let d = try DaemonHarness(pipelines: [
            "p": "inbox: inbox/loop\n" + DaemonProcessTests.halve,
            "q": "inbox: ./inbox/loop\n" + DaemonProcessTests.halve,
            "r": "inbox: \".\"\n" + DaemonProcessTests.halve,
        ])
        try FileManager.default.createDirectory(at: d.url("inbox/loop"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: d.url("alias").path, withDestinationPath: "inbox/loop")
        try FileManager.default.createSymbolicLink(atPath: d.url("spool").path, withDestinationPath: "processing")
        try d.writePipeline("s", "outbox: alias/out\n" + DaemonProcessTests.halve)
        try d.writePipeline("t", "inbox: spool/t\n" + DaemonProcessTests.halve)
        try d.start()
        let log = d.logText
        XCTAssertTrue(log.contains("q.yaml:1:8: inbox \\\"inbox/loop\\\" is the inbox of pipeline 'p'"), log)
        XCTAssertTrue(log.contains("r.yaml:1:8: inbox \\\".\\\" is the root itself"), log)
        XCTAssertTrue(log.contains("s.yaml:1:9: outbox \\\"alias/out\\\" (\(d.root.resolvingSymlinksInPath().path)/inbox/loop/out) lies inside the inbox of pipeline 'p'"), log)
        XCTAssertTrue(log.contains("t.yaml:1:8: inbox \\\"spool/t\\\" (\(d.root.resolvingSymlinksInPath().path)/processing/t) lies inside the daemon's own processing"), log)

        try DaemonHarness.image(d.url("staging/a.png"))
        XCTAssertEqual(rename(d.url("staging/a.png").path, d.url("inbox/loop/a.png").path), 0)
        try d.waitFor("one job, done once") { d.files("done/p") == ["a.png"] && d.processing.isEmpty }
        XCTAssertEqual(d.files("outbox/p"), ["a_half.png"])
        XCTAssertEqual(d.logText.components(separatedBy: "job.accepted").count - 1, 1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: d.url("daemon.pid").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: d.url("journal.sqlite").path))
        let second = try DaemonHarness.execute(["daemon", "--root", d.root.path])
        XCTAssertEqual(second.status, 1, "the lock is still in place")
        XCTAssertEqual(d.signal(SIGTERM), 0)
    }

    func testARunOverTheMemoryBudgetIsRefusedBeforeItStarts() throws {
        let d = try DaemonHarness(pipelines: ["big": "steps:\n  - task: superres\n    params: {factor: 16}\n",
                                              "half": DaemonProcessTests.halve])
        try d.start(arguments: ["--memory-budget-mb", "2048"])
        try DaemonHarness.image(d.url("staging/a.png"), size: 300)
        XCTAssertEqual(rename(d.url("staging/a.png").path, d.url("inbox/big/a.png").path), 0)
        try DaemonHarness.image(d.url("staging/b.png"), size: 300)
        XCTAssertEqual(rename(d.url("staging/b.png").path, d.url("inbox/half/b.png").path), 0)
        try d.waitFor("refused", timeout: 30) { d.files("failed/big") == ["a.png", "a.png.error.txt"] && d.files("done/half") == ["b.png"] }
        let reason = try String(contentsOf: d.url("failed/big/a.png.error.txt"), encoding: .utf8)
        XCTAssertTrue(reason.contains("error: step 'superres' (task superres) would need about "), reason)
        XCTAssertTrue(reason.contains(" of memory at its peak for a 300x300 image, over the memory budget of 2.0 GB (singan daemon --memory-budget-mb); refused before it started"), reason)
        XCTAssertFalse(d.logText.contains("train: "), "nothing ran")
        XCTAssertEqual(d.signal(SIGTERM), 0)
    }

    func testControlCharactersInNamesAreEscapedInStatus() throws {
        let d = try DaemonHarness(pipelines: ["half": DaemonProcessTests.halve])
        try d.start()
        try DaemonHarness.image(d.url("staging/x.png"))
        XCTAssertEqual(rename(d.url("staging/x.png").path, d.url("inbox/half/a\nb\u{1B}.png").path), 0)
        try d.waitFor("done") { d.files("done/half") == ["a\nb\u{1B}.png"] }
        let (status, text) = try DaemonHarness.run(["status", "--root", d.root.path])
        XCTAssertEqual(status, 0)
        XCTAssertTrue(text.contains("  done     half/a\\nb\\u{1B}.png  "), text)
        XCTAssertTrue(text.contains("→ outbox/half/a\\nb\\u{1B}_half.png\n") || text.hasSuffix("→ outbox/half/a\\nb\\u{1B}_half.png"), text)
        XCTAssertFalse(text.contains("\u{1B}"), text)
        XCTAssertEqual(d.signal(SIGTERM), 0)
    }
}
