@testable import Daemon
import Foundation
import XCTest

/// Both backends of `Journal` (SQLite, and PostgreSQL on the test run's own server): the same
/// state transitions and pruning; then what only PostgreSQL has (schema versions, the root it is
/// bound to, racing connections) and its URL and password rules. Claims and leases: `FleetJournalTests`.
final class JournalTests: XCTestCase {
    var directories: [URL] = []

    override func tearDown() {
        for directory in directories { try? FileManager.default.removeItem(at: directory) }
    }

    /// A new, empty journal of `backend`.
    func makeJournal(_ backend: JournalBackend) throws -> any Journal {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        directories.append(dir)
        return try backend.makeLocation().open(root: dir)
    }

    func testPruneDropsOnlyOldOrSurplusFinishedJobs() throws {
        for backend in JournalBackend.allCases {
            let journal = try makeJournal(backend)
            for id in ["d1", "d2", "d3", "f1", "q", "r"] {
                try journal.insert(id: id, pipeline: "p", input: "\(id).png", directory: "processing/p/\(id)")
            }
            for id in ["d1", "d2", "d3"] {
                try journal.prepare(id, outcome: .done, destination: "done/p/\(id).png", outputs: [], error: nil)
                try journal.complete(id)
            }
            try journal.fail("f1", error: "broken")
            _ = try journal.start("r")

            XCTAssertEqual(try journal.prune(finishedBefore: .distantPast, keep: 10), 0, "\(backend)")
            XCTAssertEqual(try journal.prune(finishedBefore: .distantPast, keep: 2), 2, "\(backend): beyond the 2 most recent")
            XCTAssertEqual(try journal.jobs().map(\.id).sorted(), ["d3", "f1", "q", "r"], "\(backend)")
            XCTAssertEqual(try journal.prune(finishedBefore: Date().addingTimeInterval(1), keep: 10), 2,
                           "\(backend): all ended before the cutoff")
            XCTAssertEqual(try journal.jobs().map(\.id).sorted(), ["q", "r"], "\(backend): queued and running jobs are never pruned")
        }
    }

    func testStateTransitions() throws {
        for backend in JournalBackend.allCases {
            let journal = try makeJournal(backend)
            try journal.insert(id: "a", pipeline: "p", input: "a.png", directory: "processing/p/a")
            XCTAssertEqual(try journal.start("a")?.attempts, 1, "\(backend)")
            XCTAssertNil(try journal.start("a"), "\(backend): a running job does not start again")
            XCTAssertEqual(try journal.job("a")?.attempts, 1, "\(backend)")
            try journal.requeue("a", countAttempt: false, note: "stopped")
            XCTAssertEqual(try journal.job("a")?.attempts, 0, "\(backend)")
            XCTAssertEqual(try journal.job("a")?.note, "stopped", "\(backend)")
            XCTAssertEqual(try journal.start("a")?.attempts, 1, "\(backend)")
            try journal.requeue("a", countAttempt: true, note: "crashed")
            XCTAssertEqual(try journal.start("a")?.attempts, 2, "\(backend)")
            try journal.progress("a", 0.5, note: "scale 3 of 6")
            XCTAssertEqual(try journal.job("a")?.progress, 0.5, "\(backend)")
            XCTAssertEqual(try journal.job("a")?.note, "scale 3 of 6", "\(backend)")
            try journal.prepare("a", outcome: .done, destination: "done/p/a.png", outputs: ["outbox/p/a_0.png", "outbox/p/a_1.png"], error: nil)
            try journal.complete("a")
            let done = try XCTUnwrap(journal.job("a"))
            XCTAssertEqual(done.state, .done, "\(backend)")
            XCTAssertEqual(done.progress, 1, "\(backend)")
            XCTAssertEqual(done.outputs, ["outbox/p/a_0.png", "outbox/p/a_1.png"], "\(backend)")
            XCTAssertEqual(done.destination, "done/p/a.png", "\(backend)")
            XCTAssertNotNil(done.finishedAt, "\(backend)")
            try journal.complete("a")  // idempotent
            try journal.fail("a", error: "late")  // a finished job stays finished
            XCTAssertEqual(try journal.job("a")?.state, .done, "\(backend)")
            XCTAssertEqual(try journal.counts(), [.done: 1], "\(backend)")
            XCTAssertEqual(try journal.job(directory: "processing/p/a")?.id, "a", "\(backend)")
            XCTAssertNil(try journal.job("missing"), "\(backend)")

            try journal.insert(id: "b", pipeline: "p", input: "b.png", directory: "processing/p/b")
            try journal.insert(id: "c", pipeline: "p", input: "c.png", directory: "processing/p/c")
            XCTAssertEqual(try journal.jobs(in: [.queued]).map(\.id), ["b", "c"], "\(backend): oldest first")
            XCTAssertEqual(try journal.jobs(in: [.queued, .done], limit: 2).map(\.id), ["a", "b"], "\(backend)")
            XCTAssertThrowsError(try journal.insert(id: "d", pipeline: "p", input: "d.png", directory: "processing/p/b"),
                                 "\(backend): one job per folder")

            try journal.recordPipeline("p", file: "pipelines/p.yaml", error: nil)
            try journal.recordPipeline("q", file: "pipelines/q.yaml", error: "bad")
            try journal.recordPipeline("q", file: "pipelines/q.yaml", error: "worse")
            XCTAssertEqual(try journal.pipelines(), [PipelineRecord(name: "p", file: "pipelines/p.yaml", error: nil),
                                                     PipelineRecord(name: "q", file: "pipelines/q.yaml", error: "worse")], "\(backend)")
            try journal.forgetPipeline("q")
            XCTAssertEqual(try journal.pipelines().map(\.name), ["p"], "\(backend)")
        }
    }

    #if PostgreSQL
    /// Many connections race to start one job: the database lets exactly one win.
    func testRacingConnectionsStartAJobOnce() throws {
        let location = try PostgresTestServer.makeLocation()
        let journals = try (0..<8).map { _ in try PostgresJournal(location: location) }
        for round in 0..<10 {
            try journals[0].insert(id: "j\(round)", pipeline: "p", input: "j.png", directory: "processing/p/j\(round)")
            let winners = Counter()
            DispatchQueue.concurrentPerform(iterations: journals.count) { index in
                if (try? journals[index].start("j\(round)")) != nil { winners.increment() }
            }
            XCTAssertEqual(winners.value, 1, "round \(round)")
        }
    }

    func testSchemaIsVersionedAndMigratedOnce() throws {
        let location = try PostgresTestServer.makeLocation()
        // Daemons starting together: the migration runs once, the others wait for it.
        let opened = Counter()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            if (try? PostgresJournal(location: location)) != nil { opened.increment() }
        }
        XCTAssertEqual(opened.value, 4)
        let journal = try PostgresJournal(location: location)
        XCTAssertEqual(try journal.schemaVersion(), PostgresJournal.migrations.count)
        try journal.insert(id: "kept", pipeline: "p", input: "k.png", directory: "processing/p/k")
        XCTAssertEqual(try PostgresJournal(location: location).job("kept")?.input, "k.png", "reopening keeps the jobs")
    }

    func testANewerSchemaIsRefused() throws {
        let location = try PostgresTestServer.makeLocation()
        let newer = PostgresJournal.migrations.count + 1
        _ = try PostgresJournal(location: location)
        try PostgresTestServer.psql("UPDATE singan_schema SET version = \(newer)", database: location.database)
        XCTAssertThrowsError(try PostgresJournal(location: location)) { error in
            XCTAssertTrue("\(error)".contains("schema is version \(newer), newer than this singan knows"), "\(error)")
        }
    }

    /// A database holds the jobs of one root: the first daemon binds it, daemons of the same
    /// root may join, a daemon of another root is refused with the reason.
    func testOneRootPerDatabase() throws {
        let location = try PostgresTestServer.makeLocation()
        try PostgresJournal(location: location).bind(rootID: "root-a")
        XCTAssertNoThrow(try PostgresJournal(location: location).bind(rootID: "root-a"), "a second daemon of the same root")
        XCTAssertThrowsError(try PostgresJournal(location: location).bind(rootID: "root-b")) { error in
            XCTAssertTrue("\(error)".contains("this database holds the jobs of another root (its fleet.id says root-a, this root's says root-b)"),
                          "\(error)")
        }
    }

    /// The server restarts under an open journal: while it is down each call fails with the
    /// reason, and once it is back the journal reconnects by itself, with its jobs and its claims.
    func testTheJournalReconnectsAfterTheServerRestarts() throws {
        let location = try PostgresTestServer.makeLocation()
        let journal = try PostgresJournal(location: location)
        try journal.insert(id: "a", pipeline: "p", input: "a.png", directory: "processing/p/a")
        try PostgresTestServer.setRunning(false)
        var down = true
        defer { if down { try? PostgresTestServer.setRunning(true) } }
        for _ in 0..<2 {
            XCTAssertThrowsError(try journal.job("a")) { error in
                XCTAssertTrue("\(error)".hasPrefix("PostgreSQL journal \(location): "), "\(error)")
                XCTAssertTrue("\(error)".lowercased().contains("connection refused"), "\(error)")
            }
        }
        try PostgresTestServer.setRunning(true)
        down = false
        XCTAssertEqual(try journal.job("a")?.input, "a.png")
        XCTAssertEqual(try journal.claim(pipelines: ["p"])?.attempts, 1)
        XCTAssertEqual(try journal.renewLeases(), [], "the claim is renewed on the new connection")
    }

    func testAWrongPasswordIsAClearError() throws {
        let location = try PostgresTestServer.makeLocation()
        let saved = ProcessInfo.processInfo.environment["PGPASSWORD"]
        setenv("PGPASSWORD", "wrong", 1)
        defer { if let saved { setenv("PGPASSWORD", saved, 1) } else { unsetenv("PGPASSWORD") } }
        XCTAssertThrowsError(try PostgresJournal(location: location)) { error in
            XCTAssertTrue("\(error)".contains("password authentication failed for user \"\(location.user)\""), "\(error)")
        }
    }
    #endif

    func testURLs() throws {
        XCTAssertEqual(try PostgresLocation(url: "postgres://singan@db.example:6543/queue"),
                       PostgresLocation(user: "singan", host: "db.example", port: 6543, database: "queue"))
        XCTAssertEqual(try PostgresLocation(url: "postgresql://ann@127.0.0.1"),
                       PostgresLocation(user: "ann", host: "127.0.0.1", port: 5432, database: "ann"))
        XCTAssertEqual(try JournalLocation(argument: nil), .sqlite)
        for (bad, why) in [("postgres://u:secret@h/db", "must not hold a password"), ("postgres://u:@h/db", "must not hold a password"),
                           ("mysql://u:secret@h/db", "must not hold a password"), ("postgres://u:se cret@h:x/db", "must not hold a password"),
                           ("mysql://u@h/db", "not a postgres:// URL"),
                           ("postgres://h/db", "no user"), ("postgres://u@h/db?sslmode=require", "parameters are not supported"),
                           ("postgres://u@h/a/b", "holds '/'")] {
            XCTAssertThrowsError(try PostgresLocation(url: bad), bad) { error in
                XCTAssertTrue("\(error)".contains(why), "\(bad): \(error)")
                XCTAssertFalse("\(error)".contains("secret"), "an error never repeats the password")
            }
        }
    }

    func testPasswordFromEnvironmentOrPasswordFile() throws {
        let location = PostgresLocation(user: "singan", host: "db", port: 5432, database: "queue")
        XCTAssertEqual(try location.password(environment: ["PGPASSWORD": "env"]), "env")
        XCTAssertEqual(PostgresLocation.withoutPassword("postgres://u:p@ss@h:1/db"), "postgres://u:***@h:1/db")
        XCTAssertEqual(PostgresLocation.withoutPassword("postgres://u@h:1/db"), "postgres://u@h:1/db")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pgpass-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        directories.append(dir)
        let file = dir.appendingPathComponent("pgpass")
        try """
            # comment
            other:5432:queue:singan:no
            db:5432:queue:someone:no
            db:*:queue:singan:pa\\:ss\\\\word
            *:*:*:*:fallback
            """.write(to: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
        XCTAssertEqual(try location.password(environment: ["PGPASSFILE": file.path]), "pa:ss\\word")
        XCTAssertEqual(try location.password(environment: ["PGPASSWORD": "", "PGPASSFILE": file.path]), "pa:ss\\word",
                       "an empty PGPASSWORD is unset")
        XCTAssertEqual(try PostgresLocation(user: "x", host: "y", database: "z").password(environment: ["PGPASSFILE": file.path]),
                       "fallback")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
        XCTAssertThrowsError(try location.password(environment: ["PGPASSFILE": file.path])) { error in
            XCTAssertTrue("\(error)".contains("chmod 600"), "\(error)")
        }
        XCTAssertThrowsError(try location.password(environment: ["PGPASSFILE": dir.appendingPathComponent("none").path]))
    }
}

/// A counter bumped from many threads.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
