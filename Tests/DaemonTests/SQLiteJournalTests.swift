import Daemon
import Foundation
import XCTest

/// The SQLite backend of `Journal`: its state transitions and pruning.
final class SQLiteJournalTests: XCTestCase {
    func testPruneDropsOnlyOldOrSurplusFinishedJobs() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = try SQLiteJournal(url: dir.appendingPathComponent("j.sqlite"))
        for id in ["d1", "d2", "d3", "f1", "q", "r"] {
            try journal.insert(id: id, pipeline: "p", input: "\(id).png", directory: "processing/p/\(id)")
        }
        for id in ["d1", "d2", "d3"] {
            try journal.prepare(id, outcome: .done, destination: "done/p/\(id).png", outputs: [], error: nil)
            try journal.complete(id)
        }
        try journal.fail("f1", error: "broken")
        _ = try journal.start("r")

        XCTAssertEqual(try journal.prune(finishedBefore: .distantPast, keep: 10), 0)
        XCTAssertEqual(try journal.prune(finishedBefore: .distantPast, keep: 2), 2, "beyond the 2 most recent")
        XCTAssertEqual(try journal.jobs().map(\.id).sorted(), ["d3", "f1", "q", "r"])
        XCTAssertEqual(try journal.prune(finishedBefore: Date().addingTimeInterval(1), keep: 10), 2, "all ended before the cutoff")
        XCTAssertEqual(try journal.jobs().map(\.id).sorted(), ["q", "r"], "queued and running jobs are never pruned")
    }

    func testStateTransitions() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = try SQLiteJournal(url: dir.appendingPathComponent("j.sqlite"))
        try journal.insert(id: "a", pipeline: "p", input: "a.png", directory: "processing/p/a")
        XCTAssertEqual(try journal.start("a")?.attempts, 1)
        XCTAssertNil(try journal.start("a"), "a running job does not start again")
        XCTAssertEqual(try journal.job("a")?.attempts, 1)
        try journal.requeue("a", countAttempt: false, note: "stopped")
        XCTAssertEqual(try journal.job("a")?.attempts, 0)
        XCTAssertEqual(try journal.start("a")?.attempts, 1)
        try journal.requeue("a", countAttempt: true, note: "crashed")
        XCTAssertEqual(try journal.start("a")?.attempts, 2)
        try journal.prepare("a", outcome: .done, destination: "done/p/a.png", outputs: ["outbox/p/a_0.png"], error: nil)
        try journal.complete("a")
        let done = try XCTUnwrap(journal.job("a"))
        XCTAssertEqual(done.state, .done)
        XCTAssertEqual(done.outputs, ["outbox/p/a_0.png"])
        try journal.complete("a")  // idempotent
        XCTAssertEqual(try journal.counts(), [.done: 1])
        XCTAssertEqual(try journal.job(directory: "processing/p/a")?.id, "a")
    }
}
