import Foundation
import GRDB

extension JobRecord {
    init(row: Row) {
        self.init(id: row["id"], pipeline: row["pipeline"], input: row["input"], directory: row["directory"],
                  state: JobState(rawValue: row["state"]) ?? .failed, attempts: row["attempts"], error: row["error"],
                  progress: row["progress"], note: row["note"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
                  startedAt: (row["started_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                  finishedAt: (row["finished_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                  outputs: (row["outputs"] as String?).map(SQLiteJournal.decodeOutputs) ?? [],
                  destination: row["destination"], outcome: (row["outcome"] as String?).flatMap(JobState.init(rawValue:)))
    }
}

/// The journal in `journal.sqlite` under the daemon's root (SQLite through GRDB, write-ahead
/// log): each call is one transaction.
/// `@unchecked`: its one property is GRDB's `DatabasePool`, which serialises writes and may be shared.
public final class SQLiteJournal: Journal, @unchecked Sendable {
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

    public func insert(id: String, pipeline: String, input: String, directory: String) throws {
        try db.write { db in
            try db.execute(sql: "INSERT INTO jobs (id, pipeline, input, directory, state, created_at) VALUES (?, ?, ?, ?, 'queued', ?)",
                           arguments: [id, pipeline, input, directory, now])
        }
    }

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

    public func requeue(_ id: String, countAttempt: Bool, note: String?) throws {
        try db.write { db in
            try db.execute(sql: """
                UPDATE jobs SET state = 'queued', attempts = attempts - ?, progress = 0, note = ?, destination = NULL, outcome = NULL
                WHERE id = ? AND state IN ('queued', 'running')
                """, arguments: [countAttempt ? 0 : 1, note, id])
        }
    }

    /// Outputs are stored as a JSON array: a file name may hold a newline, which split the
    /// one-per-line lists of earlier journals (still read).
    static func encodeOutputs(_ outputs: [String]) -> String {
        String(decoding: (try? JSONEncoder().encode(outputs)) ?? Data("[]".utf8), as: UTF8.self)
    }

    static func decodeOutputs(_ text: String) -> [String] {
        if text.hasPrefix("["), let list = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) { return list }
        return text.split(separator: "\n").map(String.init)
    }

    public func prepare(_ id: String, outcome: JobState, destination: String, outputs: [String], error: String?) throws {
        try db.write { db in
            try db.execute(sql: "UPDATE jobs SET outcome = ?, destination = ?, outputs = ?, error = ? WHERE id = ?",
                           arguments: [outcome.rawValue, destination, Self.encodeOutputs(outputs), error, id])
        }
    }

    public func complete(_ id: String) throws {
        try db.write { db in
            try db.execute(sql: """
                UPDATE jobs SET state = outcome, progress = CASE outcome WHEN 'done' THEN 1 ELSE progress END,
                                note = NULL, finished_at = ?
                WHERE id = ? AND outcome IN ('done', 'failed') AND state IN ('queued', 'running')
                """, arguments: [now, id])
        }
    }

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

    public func jobs(in states: [JobState], limit: Int) throws -> [JobRecord] {
        try db.read { db in
            let marks = states.map { _ in "?" }.joined(separator: ", ")
            var arguments = StatementArguments(states.map(\.rawValue))
            arguments += [limit]
            return try Row.fetchAll(db, sql: "SELECT * FROM jobs WHERE state IN (\(marks)) ORDER BY created_at, rowid LIMIT ?",
                                    arguments: arguments).map(JobRecord.init)
        }
    }

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

    public func counts() throws -> [JobState: Int] {
        try db.read { db in
            var result: [JobState: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM jobs GROUP BY state") {
                if let state = JobState(rawValue: row["state"]) { result[state] = row["n"] }
            }
            return result
        }
    }

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

    public func pipelines() throws -> [PipelineRecord] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM pipelines ORDER BY name").map {
                PipelineRecord(name: $0["name"], file: $0["file"], error: $0["error"])
            }
        }
    }
}
