#if PostgreSQL  // the fleet's tests need the PostgreSQL journal (a package trait, on by default)
@testable import Daemon
import Foundation
import Logging
import XCTest

/// Two daemons finishing the same job on one root and one PostgreSQL journal: the one that lost
/// its lease after journaling the outcome (a stall longer than the lease) and the one that took
/// the job over. The input reaches its destination once, and the job ends once, as recorded.
final class FleetFinishTests: XCTestCase {
    var root: URL!
    var location: PostgresLocation!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-finish-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("inbox/p"), withIntermediateDirectories: true)
        location = try PostgresTestServer.makeLocation()
    }

    override func tearDown() { try? FileManager.default.removeItem(at: root) }

    func custody(_ journal: PostgresJournal, afterStep: @escaping @Sendable (JobCustody.Step) throws -> Void = { _ in }) -> JobCustody {
        JobCustody(root: root, journal: journal, logger: Logger(label: "test"), afterStep: afterStep)
    }

    func files(_ relative: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(relative).path)) ?? []).sorted()
    }

    /// Accepts `x.png` (with its side file `x.txt` in the job folder) and claims it through `journal`.
    func claimedJob(_ custody: JobCustody, _ journal: PostgresJournal) throws -> JobRecord {
        try Data("x".utf8).write(to: root.appendingPathComponent("inbox/p/x.png"))
        let id = try XCTUnwrap(try custody.accept(root.appendingPathComponent("inbox/p/x.png"), pipeline: "p"))
        let job = try XCTUnwrap(try journal.claim(pipelines: ["p"]))
        XCTAssertEqual(job.id, id)
        try Data("side".utf8).write(to: root.appendingPathComponent("\(job.directory)/x.txt"))
        return job
    }

    /// Ends the lease of job `id` now, as a stall of its holder longer than the lease would.
    func expireLease(_ id: String) throws {
        try PostgresTestServer.psql("UPDATE singan_jobs SET lease_until = clock_timestamp() - interval '1 second' WHERE id = '\(id)'",
                                    database: location.database)
    }

    /// The old holder's lease is taken over between journaling the outcome and moving the input:
    /// its last look at the lease, right before the move, stops it with the input in place, and
    /// the new holder carries the outcome out.
    func testAHolderThatLostItsLeaseWhileFinishingMovesNothing() throws {
        let old = try PostgresJournal(location: location), new = try PostgresJournal(location: location)
        let database = location.database
        let dying = custody(old) { step in
            guard step == .prepared else { return }
            try PostgresTestServer.psql("UPDATE singan_jobs SET lease_until = clock_timestamp() - interval '1 second'",
                                        database: database)
            XCTAssertEqual(try new.takeOverExpired().count, 1)
        }
        let job = try claimedJob(dying, old)
        XCTAssertThrowsError(try dying.finish(job, pipeline: nil, outcome: .done, outputs: [], error: nil, since: Date())) { error in
            XCTAssertTrue(error is LeaseLostError, "\(error)")
        }
        XCTAssertEqual(files(job.directory), ["x.png", "x.txt"], "the old holder moved nothing")
        XCTAssertEqual(files("done/p"), [])

        try custody(new).recover(XCTUnwrap(new.job(job.id)), pipeline: nil)
        let finished = try XCTUnwrap(new.job(job.id))
        XCTAssertEqual(finished.state, .done)
        XCTAssertEqual(finished.destination, "done/p/x.png")
        XCTAssertEqual(files("done/p"), ["x.png", "x.txt"])
        XCTAssertEqual(files("processing/p"), [])
    }

    /// The old holder stalled past its last look at the lease and moved the input while the new
    /// holder was carrying the same outcome out (after its looks, before its own move): the new
    /// holder completes the job as recorded instead of failing or moving anything twice.
    func testANewHolderFindingTheInputMovedCompletesTheJobAsRecorded() throws {
        let old = try PostgresJournal(location: location), new = try PostgresJournal(location: location)
        let job = try claimedJob(custody(old), old)
        try old.prepare(job.id, outcome: .failed, destination: "failed/p/x.png", outputs: [], error: "boom")
        try expireLease(job.id)
        let taken = try XCTUnwrap(new.takeOverExpired().first)
        let root = self.root!
        let taking = custody(new) { step in
            guard step == .reportWritten else { return }
            // The old holder's move, between the new holder's looks and its rename.
            XCTAssertEqual(rename(root.appendingPathComponent("\(job.directory)/x.png").path,
                                  root.appendingPathComponent("failed/p/x.png").path), 0)
        }
        try taking.recover(taken, pipeline: nil)
        let finished = try XCTUnwrap(new.job(job.id))
        XCTAssertEqual(finished.state, .failed)
        XCTAssertEqual(finished.error, "boom", "as recorded, not as a vanished input")
        XCTAssertEqual(finished.destination, "failed/p/x.png")
        XCTAssertEqual(files("failed/p"), ["x.png", "x.png.error.txt", "x.txt"])
        XCTAssertEqual(files("processing/p"), [])
        XCTAssertThrowsError(try old.complete(job.id), "the old holder's writes fail") { error in
            XCTAssertTrue(error is LeaseLostError, "\(error)")
        }
    }
}
#endif
