#if PostgreSQL  // the fleet's tests need the PostgreSQL journal (a package trait, on by default)
@testable import Daemon
import Foundation
import XCTest

/// `SharedJournal` on the test run's PostgreSQL server: claims are exclusive however many
/// journals race, leases expire and are taken over, and a daemon that lost a job cannot write it.
final class FleetJournalTests: XCTestCase {
    /// 6 journals (a connection each) claim from 2 threads each, released together, until the
    /// queue is empty: every one of 120 jobs is claimed exactly once, and each claim counts one attempt.
    func testConcurrentClaimsTakeEachJobOnce() throws {
        let location = try PostgresTestServer.makeLocation()
        let journals = try (0..<6).map { _ in try PostgresJournal(location: location) }
        for i in 0..<120 {
            try journals[i % 6].insert(id: "j\(i)", pipeline: i % 2 == 0 ? "a" : "b", input: "\(i).png", directory: "processing/p/j\(i)")
        }
        try journals[0].insert(id: "other", pipeline: "c", input: "c.png", directory: "processing/c/other")
        let claims = Claims()
        let go = DispatchSemaphore(value: 0), finished = DispatchGroup()
        for thread in 0..<12 {
            let journal = journals[thread % journals.count]
            finished.enter()
            Thread.detachNewThread {
                go.wait()
                while let job = try? journal.claim(pipelines: ["a", "b"]) { claims.add(job.id, by: journal.worker.id) }
                finished.leave()
            }
        }
        for _ in 0..<12 { go.signal() }
        XCTAssertEqual(finished.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(claims.ids.count, 120, "every job claimed")
        XCTAssertEqual(Set(claims.ids).count, 120, "no job claimed twice")
        XCTAssertGreaterThan(Set(claims.workers).count, 1, "the journals shared the work")
        XCTAssertEqual(try journals[0].counts(), [.running: 120, .queued: 1], "only the claimed pipelines' jobs")
        let running = try journals[0].jobs(in: [.running])
        XCTAssertTrue(running.allSatisfy { $0.attempts == 1 }, "one attempt each")
        XCTAssertEqual(running.map(\.id), (0..<120).map { "j\($0)" }, "oldest first")
    }

    /// A claim not renewed expires: another journal takes it over at a higher epoch, and the first
    /// one's writes of the job then fail (`LeaseLostError`) and change nothing.
    func testAnExpiredLeaseIsTakenOverAndTheLoserCannotWrite() throws {
        let location = try PostgresTestServer.makeLocation()
        let first = try PostgresJournal(location: location, lease: 1)
        let second = try PostgresJournal(location: location, lease: 1)
        try first.insert(id: "j", pipeline: "p", input: "j.png", directory: "processing/p/j")
        XCTAssertEqual(try first.claim(pipelines: ["p"])?.id, "j")
        XCTAssertEqual(try second.takeOverExpired(), [], "the lease is still valid")
        Thread.sleep(forTimeInterval: 1.3)
        XCTAssertEqual(try first.takeOverExpired(), [], "a daemon never takes over a job it holds")
        let taken = try second.takeOverExpired()
        XCTAssertEqual(taken.map(\.id), ["j"])
        XCTAssertEqual(try second.takeOverExpired(), [], "taken over once")
        try second.progress("j", 0.5, note: "the new holder")

        for write in [{ try first.progress("j", 0.9, note: "the loser") },
                      { try first.prepare("j", outcome: .done, destination: "done/p/j.png", outputs: [], error: nil) },
                      { try first.complete("j") },
                      { try first.requeue("j", countAttempt: false, note: "the loser") },
                      { try first.fail("j", error: "the loser") }] {
            XCTAssertThrowsError(try write()) { error in
                XCTAssertTrue(error is LeaseLostError, "\(error)")
                XCTAssertTrue("\(error)".contains("lost the lease of job j"), "\(error)")
            }
        }
        XCTAssertEqual(try first.renewLeases(), [], "a lost job is reported once, then no longer renewed")
        let job = try XCTUnwrap(second.job("j"))
        XCTAssertEqual(job.state, .running)
        XCTAssertEqual(job.note, "the new holder")
        XCTAssertNil(job.outcome)

        // The holder re-queues it, counting the attempt the dead run used (as a restart would).
        try second.requeue("j", countAttempt: true, note: "interrupted")
        XCTAssertEqual(try second.job("j")?.state, .queued)
        XCTAssertEqual(try second.job("j")?.attempts, 1)
        XCTAssertEqual(try second.claim(pipelines: ["p"])?.attempts, 2, "the next run is the second attempt")
    }

    /// A job given up (its requeue failed while the database was out of reach) is no longer
    /// renewed and, once its lease expired, is taken over even by the daemon that gave it up.
    func testAnAbandonedJobIsTakenOverByAnyDaemon() throws {
        let location = try PostgresTestServer.makeLocation()
        let journal = try PostgresJournal(location: location, lease: 1)
        try journal.insert(id: "j", pipeline: "p", input: "j.png", directory: "processing/p/j")
        XCTAssertEqual(try journal.claim(pipelines: ["p"])?.id, "j")
        journal.abandon("j")
        XCTAssertEqual(journal.heldJobs(), [:])
        Thread.sleep(forTimeInterval: 1.3)
        XCTAssertEqual(try journal.renewLeases(), [], "not renewed")
        XCTAssertEqual(try journal.takeOverExpired().map(\.id), ["j"])
        try journal.progress("j", 0.5, note: "held again")
        XCTAssertEqual(try journal.job("j")?.note, "held again")
    }

    /// Renewed every third of the lease, a claim outlives the lease many times over; a renewal
    /// after the job was taken over reports it lost.
    func testRenewalsKeepALeaseAndReportOneLost() throws {
        let location = try PostgresTestServer.makeLocation()
        let holder = try PostgresJournal(location: location, lease: 1)
        let other = try PostgresJournal(location: location, lease: 1)
        try holder.insert(id: "kept", pipeline: "p", input: "k.png", directory: "processing/p/kept")
        try holder.insert(id: "lost", pipeline: "p", input: "l.png", directory: "processing/p/lost")
        XCTAssertEqual(try holder.claim(pipelines: ["p"])?.id, "kept")
        XCTAssertEqual(try holder.claim(pipelines: ["p"])?.id, "lost")
        for _ in 0..<8 {
            XCTAssertEqual(try holder.renewLeases(), [])
            Thread.sleep(forTimeInterval: 0.33)
            XCTAssertEqual(try other.takeOverExpired(), [], "renewed in time")
        }
        try PostgresTestServer.psql("UPDATE singan_jobs SET lease_until = clock_timestamp() - interval '1 second' WHERE id = 'lost'",
                                    database: location.database)
        XCTAssertEqual(try other.takeOverExpired().map(\.id), ["lost"])
        XCTAssertEqual(try holder.renewLeases(), ["lost"])
        XCTAssertEqual(Set(holder.heldJobs().keys), ["kept"])
        let workers = try PostgresTestServer.psql("SELECT id FROM singan_workers ORDER BY id", database: location.database)
        XCTAssertEqual(workers, holder.worker.id, "the renewing daemon's heartbeat")
        try holder.leave()
        XCTAssertEqual(try PostgresTestServer.psql("SELECT count(*) FROM singan_workers", database: location.database), "0")
    }

    /// A stuck statement (here `pg_sleep`) is cancelled by the server after the journal's
    /// statement timeout, a third of the lease, so the renewal waiting behind it on the
    /// connection still lands before the lease ends, and no other daemon takes the job over.
    func testAStuckStatementCannotHoldTheRenewalsPastTheLease() throws {
        let location = try PostgresTestServer.makeLocation()
        let holder = try PostgresJournal(location: location, lease: 6)
        let other = try PostgresJournal(location: location, lease: 6)
        XCTAssertEqual(holder.statementTimeout, 2)
        try holder.insert(id: "j", pipeline: "p", input: "j.png", directory: "processing/p/j")
        let claimed = Date()
        XCTAssertEqual(try holder.claim(pipelines: ["p"])?.id, "j")
        let threads = DispatchGroup()
        DispatchQueue.global().async(group: threads) {
            do {
                try holder.run("SELECT pg_sleep(20)")
                XCTFail("the statement ran to its end")
            } catch {
                XCTAssertTrue("\(error)".contains("canceling statement due to statement timeout"), "\(error)")
                XCTAssertLessThan(Date().timeIntervalSince(claimed), 4, "cancelled after about 2 s")
            }
        }
        Thread.sleep(forTimeInterval: 0.3)
        DispatchQueue.global().async(group: threads) {
            XCTAssertEqual(try? holder.renewLeases(), [], "renewed once the stuck statement was cancelled")
        }
        Thread.sleep(forTimeInterval: max(0, 6.5 - Date().timeIntervalSince(claimed)))
        XCTAssertEqual(try other.takeOverExpired(), [], "the lease held")
        XCTAssertEqual(threads.wait(timeout: .now() + 30), .success)
    }

    /// `singan status` ends the line of each running job with the daemon holding it: host and pid.
    func testStatusNamesTheDaemonRunningEachJob() throws {
        let location = try PostgresTestServer.makeLocation()
        let journal = try PostgresJournal(location: location)
        try journal.insert(id: "j1", pipeline: "p", input: "x.png", directory: "processing/p/j1")
        try journal.insert(id: "j2", pipeline: "p", input: "y.png", directory: "processing/p/j2")
        XCTAssertEqual(try journal.claim(pipelines: ["p"])?.id, "j1")
        XCTAssertEqual(try journal.renewLeases(), [], "the heartbeat")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-status-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let report = try StatusReport.render(root: root, journal: .postgres(location))
        XCTAssertTrue(report.contains("  running  p/x.png  0%  attempt 1  job j1  on \(journal.worker.host) pid \(journal.worker.pid)\n"), report)
        XCTAssertTrue(report.hasSuffix("\n  queued   p/y.png  job j2"), report)
    }

    /// One daemon at a time holds a model's lock; its own jobs share the hold (counted); a lock
    /// not renewed is taken over once its lease expired, and a renewed one is not.
    func testModelLocksAreExclusiveCountedAndExpire() throws {
        let location = try PostgresTestServer.makeLocation()
        let first = try PostgresJournal(location: location, lease: 1)
        let second = try PostgresJournal(location: location, lease: 1)
        XCTAssertTrue(try first.lockModel("m"))
        XCTAssertFalse(try second.lockModel("m"), "held by the first daemon")
        XCTAssertTrue(try second.lockModel("other"), "each model has its own lock")
        XCTAssertTrue(try first.lockModel("m"), "a second job of the same daemon")
        try first.unlockModel("m")
        XCTAssertFalse(try second.lockModel("m"), "one hold left")
        try first.unlockModel("m")
        XCTAssertTrue(try second.lockModel("m"), "released")

        for _ in 0..<4 {
            Thread.sleep(forTimeInterval: 0.33)
            XCTAssertEqual(try second.renewLeases(), [])
        }
        XCTAssertFalse(try first.lockModel("m"), "renewed past its lease")
        Thread.sleep(forTimeInterval: 1.3)
        XCTAssertTrue(try first.lockModel("m"), "not renewed for a lease: taken over")
        try second.unlockModel("m")
        XCTAssertEqual(try PostgresTestServer.psql("SELECT worker FROM singan_model_locks WHERE key = 'm'", database: location.database),
                       first.worker.id, "the old holder's release leaves the new holder's lock")
    }

    /// A database at schema 1 (piece 1's, one daemon per database) is migrated to the current one at open,
    /// keeping its jobs; a job left running by a v1 daemon has no lease and is taken over.
    func testVersion1IsMigratedWithItsJobs() throws {
        let location = try PostgresTestServer.makeLocation()
        let version1 = PostgresJournal.migrations[0].map { "\($0.sql);" }.joined(separator: "\n")
        try PostgresTestServer.psql("""
            CREATE TABLE singan_schema (version integer NOT NULL); INSERT INTO singan_schema VALUES (1);
            \(version1)
            INSERT INTO singan_jobs (id, pipeline, input, directory, state, attempts) VALUES ('old', 'p', 'o.png', 'processing/p/old', 'running', 1);
            """, database: location.database)
        let journal = try PostgresJournal(location: location)
        XCTAssertEqual(try journal.schemaVersion(), PostgresJournal.migrations.count)
        XCTAssertEqual(try journal.job("old")?.input, "o.png")
        XCTAssertEqual(try journal.takeOverExpired().map(\.id), ["old"])
        try journal.requeue("old", countAttempt: true, note: nil)
        XCTAssertEqual(try journal.claim(pipelines: ["p"])?.attempts, 2)
    }
}

/// Claimed job ids and who claimed them, from many threads.
private final class Claims: @unchecked Sendable {
    private let lock = NSLock()
    private var claims: [(id: String, worker: String)] = []
    func add(_ id: String, by worker: String) { lock.withLock { claims.append((id, worker)) } }
    var ids: [String] { lock.withLock { claims.map(\.id) } }
    var workers: [String] { lock.withLock { claims.map(\.worker) } }
}
#endif
