import Foundation
import GRDB

/// The state of a job in the journal.
public enum JobState: String, Sendable, CaseIterable {
    case queued, running, done, failed
}

/// One job as recorded in the journal.
public struct JobRecord: Sendable, Equatable {
    public var id: String
    public var pipeline: String
    /// The dropped file's name.
    public var input: String
    /// The job's folder under `processing/`, holding the input and its side files while it runs.
    public var directory: String
    public var state: JobState
    /// Runs started, counting ones interrupted by a crash.
    public var attempts: Int
    public var error: String?
    public var progress: Double
    public var note: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Written output paths, relative to the root.
    public var outputs: [String]
    /// Where the input is moved when the job ends (set just before the move, for recovery).
    public var destination: String?
    /// The state the job takes once its input reached `destination`.
    public var outcome: JobState?

    init(row: Row) {
        id = row["id"]
        pipeline = row["pipeline"]
        input = row["input"]
        directory = row["directory"]
        state = JobState(rawValue: row["state"]) ?? .failed
        attempts = row["attempts"]
        error = row["error"]
        progress = row["progress"]
        note = row["note"]
        createdAt = Date(timeIntervalSince1970: row["created_at"])
        startedAt = (row["started_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        finishedAt = (row["finished_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        outputs = (row["outputs"] as String?).map { $0.split(separator: "\n").map(String.init) } ?? []
        destination = row["destination"]
        outcome = (row["outcome"] as String?).flatMap(JobState.init(rawValue:))
    }
}

/// The durable record of every accepted job (SQLite through GRDB, write-ahead log).
///
/// Each state change is one transaction, and the file moves that go with it are ordered so that
/// after a crash at any point `Daemon.recover` can tell what happened (see `Daemon`).
/// `@unchecked`: its one property is GRDB's `DatabasePool`, which serialises writes and may be shared.
public final class Journal: @unchecked Sendable {
    private let db: DatabasePool

    /// Opens (creating if needed) the journal at `url`.
    public init(url: URL) throws {
        var config = Configuration()
        config.busyMode = .timeout(10)
        db = try DatabasePool(path: url.path, configuration: config)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE jobs (
                    id TEXT PRIMARY KEY,
                    pipeline TEXT NOT NULL,
                    input TEXT NOT NULL,
                    directory TEXT NOT NULL UNIQUE,
                    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    error TEXT,
                    progress REAL NOT NULL DEFAULT 0,
                    note TEXT,
                    created_at REAL NOT NULL,
                    started_at REAL,
                    finished_at REAL,
                    outputs TEXT,
                    destination TEXT,
                    outcome TEXT
                );
                CREATE INDEX jobs_state ON jobs(state);
                CREATE TABLE pipelines (
                    name TEXT PRIMARY KEY,
                    file TEXT NOT NULL,
                    error TEXT,
                    updated_at REAL NOT NULL
                );
                """)
        }
        try migrator.migrate(db)
    }

    private var now: Double { Date().timeIntervalSince1970 }

    /// Records a newly accepted job as queued.
    public func insert(id: String, pipeline: String, input: String, directory: String) throws {
        try db.write { db in
            try db.execute(sql: "INSERT INTO jobs (id, pipeline, input, directory, state, created_at) VALUES (?, ?, ?, ?, 'queued', ?)",
                           arguments: [id, pipeline, input, directory, now])
        }
    }

    /// queued → running; counts the attempt. Returns the job after the change, or nil when the
    /// job was not queued (so two workers can never both start it).
    public func start(_ id: String) throws -> JobRecord? {
        try db.write { db in
            try db.execute(sql: """
                UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ?, progress = 0, note = NULL
                WHERE id = ? AND state = 'queued'
                """, arguments: [now, id])
            guard db.changesCount == 1 else { return nil }
            return try Row.fetchOne(db, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [id]).map(JobRecord.init)
        }
    }

    /// running → queued. A clean stop does not count the attempt; a crash does.
    public func requeue(_ id: String, countAttempt: Bool, note: String?) throws {
        try db.write { db in
            try db.execute(sql: """
                UPDATE jobs SET state = 'queued', attempts = attempts - ?, progress = 0, note = ?, destination = NULL, outcome = NULL
                WHERE id = ? AND state IN ('queued', 'running')
                """, arguments: [countAttempt ? 0 : 1, note, id])
        }
    }

    /// Records how the job ends and where its input goes, just before moving the input, so that
    /// recovery can complete the job if the process dies between the move and `complete`.
    public func prepare(_ id: String, outcome: JobState, destination: String, outputs: [String], error: String?) throws {
        try db.write { db in
            try db.execute(sql: "UPDATE jobs SET outcome = ?, destination = ?, outputs = ?, error = ? WHERE id = ?",
                           arguments: [outcome.rawValue, destination, outputs.joined(separator: "\n"), error, id])
        }
    }

    /// Applies the prepared outcome: the job becomes done or failed.
    public func complete(_ id: String) throws {
        try db.write { db in
            try db.execute(sql: """
                UPDATE jobs SET state = outcome, progress = CASE outcome WHEN 'done' THEN 1 ELSE progress END,
                                note = NULL, finished_at = ?
                WHERE id = ? AND outcome IN ('done', 'failed') AND state IN ('queued', 'running')
                """, arguments: [now, id])
        }
    }

    /// The job whose processing folder is `directory`, in any state.
    public func job(directory: String) throws -> JobRecord? {
        try db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM jobs WHERE directory = ?", arguments: [directory]).map(JobRecord.init)
        }
    }

    public func fail(_ id: String, error: String) throws {
        try db.write { db in
            try db.execute(sql: """
                UPDATE jobs SET state = 'failed', note = NULL, finished_at = ?, error = ?
                WHERE id = ? AND state IN ('queued', 'running')
                """, arguments: [now, error, id])
        }
    }

    public func progress(_ id: String, _ fraction: Double, note: String?) throws {
        try db.write { db in
            try db.execute(sql: "UPDATE jobs SET progress = ?, note = ? WHERE id = ?", arguments: [fraction, note, id])
        }
    }

    public func job(_ id: String) throws -> JobRecord? {
        try db.read { db in try Row.fetchOne(db, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [id]).map(JobRecord.init) }
    }

    /// Jobs in `states`, oldest first.
    public func jobs(in states: [JobState] = JobState.allCases, limit: Int = 1_000_000) throws -> [JobRecord] {
        try db.read { db in
            let marks = states.map { _ in "?" }.joined(separator: ", ")
            var arguments = StatementArguments(states.map(\.rawValue))
            arguments += [limit]
            return try Row.fetchAll(db, sql: "SELECT * FROM jobs WHERE state IN (\(marks)) ORDER BY created_at, rowid LIMIT ?",
                                    arguments: arguments).map(JobRecord.init)
        }
    }

    /// Deletes the rows of finished (done or failed) jobs that ended before `cutoff`, and beyond
    /// the `keep` most recent ones; returns how many were deleted. Queued and running jobs stay.
    @discardableResult
    public func prune(finishedBefore cutoff: Date, keep: Int) throws -> Int {
        try db.write { db in
            try db.execute(sql: """
                DELETE FROM jobs WHERE state IN ('done', 'failed') AND (
                    COALESCE(finished_at, created_at) < ? OR
                    id IN (SELECT id FROM jobs WHERE state IN ('done', 'failed')
                           ORDER BY COALESCE(finished_at, created_at) DESC, rowid DESC LIMIT -1 OFFSET ?))
                """, arguments: [cutoff.timeIntervalSince1970, max(0, keep)])
            return db.changesCount
        }
    }

    /// How many jobs are in each state.
    public func counts() throws -> [JobState: Int] {
        try db.read { db in
            var result: [JobState: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM jobs GROUP BY state") {
                if let state = JobState(rawValue: row["state"]) { result[state] = row["n"] }
            }
            return result
        }
    }

    /// Records the result of (re)loading a pipeline file: `error` is nil when it loaded.
    public func recordPipeline(_ name: String, file: String, error: String?) throws {
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO pipelines (name, file, error, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET file = excluded.file, error = excluded.error, updated_at = excluded.updated_at
                """, arguments: [name, file, error, now])
        }
    }

    public func forgetPipeline(_ name: String) throws {
        try db.write { db in try db.execute(sql: "DELETE FROM pipelines WHERE name = ?", arguments: [name]) }
    }

    /// Every known pipeline with its last load error, if any.
    public func pipelines() throws -> [(name: String, file: String, error: String?)] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM pipelines ORDER BY name").map { ($0["name"], $0["file"], $0["error"]) }
        }
    }
}
