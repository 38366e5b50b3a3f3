#if PostgreSQL  // the fleet's tests need the PostgreSQL journal (a package trait, on by default)
import Daemon
import Foundation
import XCTest

/// The real daemon as a process with `--journal postgres://…` on the test run's own server.
final class PostgresDaemonProcessTests: XCTestCase {
    func testJobsStatusAndRecoveryThroughThePostgresJournal() throws {
        let location = try PostgresTestServer.makeLocation()
        let url = location.description
        let d = try DaemonHarness(pipelines: ["half": DaemonProcessTests.halve])
        try DaemonHarness.image(d.url("inbox/half/early.png"))  // there before the daemon starts
        try d.start(arguments: ["--journal", url])
        for i in 0..<4 { try DaemonHarness.image(d.url("staging/b\(i).png")) }
        for i in 0..<4 { rename(d.url("staging/b\(i).png").path, d.url("inbox/half/b\(i).png").path) }
        try Data("not an image".utf8).write(to: d.url("staging/bad.png"))
        rename(d.url("staging/bad.png").path, d.url("inbox/half/bad.png").path)
        try d.waitFor("6 inputs finished", timeout: 60) {
            d.files("done/half").count == 5 && d.files("failed/half").contains("bad.png") && d.processing.isEmpty
        }
        XCTAssertEqual(d.files("outbox/half"), ["b0_half.png", "b1_half.png", "b2_half.png", "b3_half.png", "early_half.png"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: d.url("journal.sqlite").path), "no SQLite journal beside")

        let journal = try PostgresJournal(location: location)
        try d.waitFor("the journal agrees") { (try? journal.counts()) == [.done: 5, .failed: 1] }
        XCTAssertEqual(try journal.pipelines().map(\.name), ["half"])
        XCTAssertEqual(Set(try journal.jobs(in: [.done]).map(\.input)), ["early.png", "b0.png", "b1.png", "b2.png", "b3.png"])

        let status = try DaemonHarness.execute(["status", "--root", d.root.path, "--journal", url])
        XCTAssertEqual(status.status, 0, status.errors)
        XCTAssertTrue(status.output.contains("journal: \(url)"), status.output)
        XCTAssertTrue(status.output.contains("jobs: 0 queued, 0 running, 5 done, 1 failed"), status.output)

        // A daemon on another root is refused (the jobs' files are in this root), and says why.
        let other = try DaemonHarness(pipelines: ["half": DaemonProcessTests.halve])
        let refused = try DaemonHarness.execute(["daemon", "--root", other.root.path, "--journal", url])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.errors.contains("this database holds the jobs of another root"), refused.errors)

        // kill -9 during a job: the next start finds it running in the database and, once its
        // lease expired, runs it again.
        XCTAssertEqual(d.signal(SIGTERM), 0)
        try d.start(stepDelayMs: 60_000, arguments: ["--journal", url, "--lease", "2"])
        try DaemonHarness.image(d.url("staging/killed.png"))
        rename(d.url("staging/killed.png").path, d.url("inbox/half/killed.png").path)
        try d.waitFor("the job running") { ((try? journal.jobs(in: [.running])) ?? []).map(\.input) == ["killed.png"] }
        _ = d.signal(SIGKILL)
        try d.start(arguments: ["--journal", url, "--lease", "2"])
        try d.waitFor("the killed job done") { d.files("done/half").contains("killed.png") }
        try d.waitFor("the journal agrees") { (try? journal.jobs(in: [.done]).first { $0.input == "killed.png" }) != nil }
        let killed = try XCTUnwrap(journal.jobs(in: [.done]).first { $0.input == "killed.png" })
        XCTAssertEqual(killed.attempts, 2, "the killed run counts")
        XCTAssertEqual(d.signal(SIGTERM), 0)
    }

    func testBadJournalArgumentsAreClearErrors() throws {
        let d = try DaemonHarness(pipelines: [:])
        let withPassword = try DaemonHarness.execute(["daemon", "--root", d.root.path, "--journal", "postgres://u:hunter2@127.0.0.1/db"])
        XCTAssertNotEqual(withPassword.status, 0)
        XCTAssertTrue(withPassword.errors.contains("must not hold a password"), withPassword.errors)
        XCTAssertFalse(withPassword.errors.contains("hunter2"), withPassword.errors)

        // Nothing listens on port 1: the daemon says so and exits 1 (no SQLite fallback).
        let unreachable = try DaemonHarness.execute(["daemon", "--root", d.root.path, "--journal", "postgres://u@127.0.0.1:1/db"])
        XCTAssertEqual(unreachable.status, 1)
        XCTAssertTrue(unreachable.errors.contains("singan daemon: PostgreSQL journal postgres://u@127.0.0.1:1/db:"), unreachable.errors)
        XCTAssertFalse(FileManager.default.fileExists(atPath: d.url("journal.sqlite").path))
    }
}
#endif
