import Daemon
import Foundation
import Logging
import Plugins
import XCTest

/// What the daemon tidies: temporaries left by a killed process, and old journal rows.
final class DaemonHousekeepingTests: XCTestCase {
    func testStaleTemporariesAreRemovedAtStartAndUsersFilesKept() throws {
        let d = try DaemonHarness(pipelines: ["half": DaemonProcessTests.halve])
        let fm = FileManager.default
        // As a `kill -9` leaves them (see `AtomicFile.isTemporary`), one per kind of write.
        let stale = [
            "outbox/half/.a_half.png.0F3A9C1B.tmp",  // VipsImage.save
            "outbox/half/sub/.b_half.png.9D2E4F01.tmp",  // a move across file systems
            "failed/half/.c.png.error.txt.00AB12CD.tmp",  // an error report
            "cache/models/key/checkpoints/.training.singan.7E3B0C55.tmp",  // a training checkpoint
        ]
        let kept = [
            "outbox/half/notes.tmp", "outbox/half/.hidden", "outbox/half/.photo.tmp", "outbox/half/.photo.png.draft.tmp",
            "outbox/half/photo.png.0F3A9C1B.tmp", "outbox/half/.photo.png.0f3a9c1b.tmp", "done/half/a.png",
            "inbox/half/.d.png.0F3A9C1B.tmp",  // the inbox holds users' files: never touched
        ]
        for path in stale + kept {
            try fm.createDirectory(at: d.url(path).deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("x".utf8).write(to: d.url(path))
        }
        try d.start()
        for path in stale { XCTAssertFalse(fm.fileExists(atPath: d.url(path).path), path) }
        for path in kept { XCTAssertTrue(fm.fileExists(atPath: d.url(path).path), path) }
        XCTAssertEqual(d.logText.components(separatedBy: "temporary.removed").count - 1, stale.count, d.logText)
        XCTAssertEqual(d.signal(SIGTERM), 0)
    }

    func testFinishedJobsArePrunedAtStartAndPeriodically() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("prune-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("pipelines"), withIntermediateDirectories: true)
        try DaemonProcessTests.halve.write(to: root.appendingPathComponent("pipelines/half.yaml"), atomically: true, encoding: .utf8)
        let journal = try SQLiteJournal(url: root.appendingPathComponent("journal.sqlite"))
        func finished() -> Int { ((try? journal.counts()) ?? [:])[.done] ?? 0 }
        /// Runs a daemon keeping `keep` finished jobs while `body` runs.
        func withDaemon(keep: Int, pruneEvery interval: TimeInterval, _ body: () throws -> Void) throws {
            var options = DaemonOptions(root: root)
            options.handleSignals = false
            options.journalMaxFinished = keep
            options.journalPruneInterval = interval
            let daemon = try Daemon(options: options, registry: TestPlugins.registry, logger: Logger(label: "test"))
            let thread = Thread { try? daemon.run() }
            thread.start()
            defer {
                daemon.stop()
                try? waitUntil("daemon stopped", upTo: 20) { thread.isFinished }
            }
            try body()
        }
        func drop(_ names: [String]) throws {
            for name in names { try DaemonHarness.image(root.appendingPathComponent("inbox/half/\(name)")) }
        }

        try withDaemon(keep: 10, pruneEvery: 3600) {
            try drop(["a.png", "b.png", "c.png"])
            try waitUntil("3 jobs done", upTo: 20) { finished() == 3 }
        }
        try withDaemon(keep: 1, pruneEvery: 3600) {
            try waitUntil("pruned at start", upTo: 20) { finished() == 1 }
        }
        try withDaemon(keep: 1, pruneEvery: 0.2) {
            try drop(["d.png", "e.png"])
            try waitUntil("2 more done", upTo: 20) {
                (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("done/half").path).count) == 5
            }
            try waitUntil("pruned while running", upTo: 20) { finished() == 1 }
        }
        XCTAssertTrue(["d.png", "e.png"].contains(try journal.jobs().first?.input), "the most recent finished job is kept")
    }
}
