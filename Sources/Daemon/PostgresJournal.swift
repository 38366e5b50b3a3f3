#if PostgreSQL
import Foundation
import Logging
import PostgresNIO

/// The journal in a PostgreSQL database (vapor/postgres-nio), for daemons that share one queue
/// (`SharedJournal`: claims under leases, see `PostgresJournal+Leases.swift`).
///
/// Every call is one SQL statement, so one implicit transaction, and each rule of `Journal` is in
/// the statement's `WHERE`: the server's row locks make `start` and `claim` take a job at most
/// once however many connections race. The schema is created or migrated at open, under an
/// advisory lock so that daemons starting together migrate once (see `migrations`).
///
/// A job this journal claimed is *held* (`held`: its id and the epoch the claim gave it): every
/// write of a held job also requires that epoch, and a write that changes no row means another
/// daemon took the job over (`LeaseLostError`), so a daemon that lost its lease never writes over
/// the new holder. Ending the job (requeue, complete, fail) gives the hold up; a lost job stays
/// known as lost (with its old epoch), so that every later write of it fails too.
///
/// The protocol is synchronous and its callers are plain threads (workers, the daemon's control
/// queue), so each call waits on postgres-nio's event-loop future: never call it from an event
/// loop. One connection, used by one call at a time (`lock`): the daemon's journal traffic is a
/// few small statements per job. A connection the server dropped (restart, network) is replaced
/// at the next call; the call that saw it fail throws.
///
/// `@unchecked`: the connection is guarded by `lock`.
public final class PostgresJournal: Journal, @unchecked Sendable {
    public let location: PostgresLocation
    /// How long a claim lasts unless renewed (`renewLeases`).
    public let lease: TimeInterval
    /// This daemon's name in `singan_jobs.worker` and `singan_workers`: host, pid and a random
    /// suffix (a pid is reused after a restart; the old rows must not look like ours).
    public let worker: WorkerIdentity
    private let password: String?
    private let logger: Logger
    private let lock = NSLock()
    private var connection: PostgresConnection?  // guarded by `lock`
    private var nextConnectionID = 0  // guarded by `lock`
    /// Epoch of each job this journal holds or lost, by id, and which were lost; guarded by
    /// `heldLock` (taken inside `lock` or alone).
    private var held: [String: Int64] = [:]
    private var lost = Set<String>()
    /// Model locks held, with how many holds each (jobs of this daemon training the same model).
    private var heldModels: [String: Int] = [:]
    private let heldLock = NSLock()

    /// The schema, one migration per version, applied in order to a database at a lower version
    /// (`singan_schema.version`, 0 for a new database). Append; never edit a released one. A
    /// migration is a list of statements: the extended protocol postgres-nio speaks takes one at a time.
    static let migrations: [[PostgresQuery]] = [
        // 1: the jobs and pipelines of `SQLiteJournal`'s v1, named `singan_*` since the database may be
        // shared with other applications; `seq` orders jobs created in the same instant.
        [
            """
            CREATE TABLE singan_jobs (
                seq bigserial NOT NULL UNIQUE,
                id text PRIMARY KEY,
                pipeline text NOT NULL,
                input text NOT NULL,
                directory text NOT NULL UNIQUE,
                state text NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
                attempts integer NOT NULL DEFAULT 0,
                error text,
                progress double precision NOT NULL DEFAULT 0,
                note text,
                created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                started_at timestamptz,
                finished_at timestamptz,
                outputs text[] NOT NULL DEFAULT '{}',
                destination text,
                outcome text CHECK (outcome IN ('done', 'failed'))
            )
            """,
            "CREATE INDEX singan_jobs_state ON singan_jobs (state, created_at, seq)",
            """
            CREATE TABLE singan_pipelines (
                name text PRIMARY KEY,
                file text NOT NULL,
                error text,
                updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
            )
            """,
        ],
        // 2: leases, so that several daemons share the queue. A running job names its `worker`,
        // which holds it until `lease_until` (the server's clock, never a node's) and renews it;
        // `epoch` counts the claims, and every write of the holder requires its epoch. The
        // workers' heartbeats are for `singan status`; `singan_fleet` names the one root whose
        // files the jobs are (`FleetIdentity`), so that a daemon on another root is refused.
        [
            "ALTER TABLE singan_jobs ADD COLUMN worker text, ADD COLUMN lease_until timestamptz, ADD COLUMN epoch bigint NOT NULL DEFAULT 0",
            "CREATE INDEX singan_jobs_lease ON singan_jobs (lease_until) WHERE state = 'running'",
            """
            CREATE TABLE singan_workers (
                id text PRIMARY KEY,
                host text NOT NULL,
                pid integer NOT NULL,
                started timestamptz NOT NULL DEFAULT clock_timestamp(),
                heartbeat timestamptz NOT NULL DEFAULT clock_timestamp()
            )
            """,
            "CREATE TABLE singan_fleet (one boolean PRIMARY KEY DEFAULT true CHECK (one), root_id text NOT NULL)",
        ],
        // 3: a lock per model being trained (`ModelLocks`), under the same leases as the jobs.
        [
            "CREATE TABLE singan_model_locks (key text PRIMARY KEY, worker text NOT NULL, lease_until timestamptz NOT NULL)",
        ],
    ]

    /// Key of the advisory lock the migration takes (arbitrary, fixed: "singan" in ASCII).
    private static let migrationLock: Int64 = 0x73_69_6E_67_61_6E_00

    /// Connects to `location` (password from `PGPASSWORD` or the password file) and brings the
    /// schema to the current version. `lease` is how long a claim lasts unless renewed.
    public init(location: PostgresLocation, lease: TimeInterval = 30,
                logger: Logger = Logger(label: "singan.journal.postgres")) throws {
        self.location = location
        self.lease = lease
        self.worker = WorkerIdentity.current()
        self.password = try location.password()
        var logger = logger
        logger.logLevel = .warning  // postgres-nio logs every query at debug
        self.logger = logger
        try withConnection { connection in try self.migrate(connection) }
    }

    deinit {
        try? connection?.close().wait()
    }

    // MARK: Connection

    /// Runs `body` on the connection, connecting first if there is none or the last one closed.
    private func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        if let connection, connection.isClosed { self.connection = nil }
        do {
            let connection = try self.connection ?? connect()
            self.connection = connection
            return try body(connection)
        } catch {
            throw PostgresJournalError(location: location, underlying: error)
        }
    }

    /// How long one statement may run before the server cancels it (`statement_timeout`, set at
    /// connect): a third of the lease, at least 1 s. Every call waits its turn on the one
    /// connection, so a stuck statement (a lock held elsewhere, a stalled disk) would otherwise
    /// hold up the lease renewals past the lease; cancelled after a third of it, the renewal due
    /// meanwhile still lands before the lease ends (renewed every third, it has two thirds left).
    public var statementTimeout: TimeInterval { max(1, lease / 3) }

    /// A new connection (caller holds `lock`).
    private func connect() throws -> PostgresConnection {
        nextConnectionID += 1
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: password,
            database: location.database, tls: .disable)
        configuration.options.additionalStartupParameters = [("statement_timeout", "\(Int(statementTimeout * 1000))")]
        return try PostgresConnection.connect(on: PostgresConnection.defaultEventLoopGroup.any(),
                                              configuration: configuration, id: nextConnectionID, logger: logger).wait()
    }

    /// Runs one statement and collects its rows.
    @discardableResult
    private func run(_ connection: PostgresConnection, _ query: PostgresQuery) throws -> [PostgresRow] {
        try connection.query(query, logger: logger).wait().rows
    }

    /// Runs one statement on the journal's connection.
    @discardableResult
    func run(_ query: PostgresQuery) throws -> [PostgresRow] {
        try withConnection { try run($0, query) }
    }

    /// Runs one statement and returns how many rows it changed.
    func changes(_ query: PostgresQuery) throws -> Int {
        try withConnection { try $0.query(query, logger: logger).wait().metadata.rows ?? 0 }
    }

    // MARK: Held jobs

    /// The epoch of job `id` when this journal holds it or lost it, else nil (the writes' guard:
    /// `epoch` must equal it when it is not NULL).
    func epoch(of id: String) -> Int64? {
        heldLock.withLock { held[id] }
    }

    /// Records that this journal now holds `id` at `epoch` (a claim or a take-over).
    func hold(_ id: String, epoch: Int64) {
        heldLock.withLock {
            held[id] = epoch
            lost.remove(id)
        }
    }

    /// Gives up the hold of `id`: its job ended here.
    func release(_ id: String) {
        heldLock.withLock {
            held[id] = nil
            lost.remove(id)
        }
    }

    /// Marks `id` lost if it is still held at `epoch`: its writes keep failing, and it is no
    /// longer renewed. Returns whether it was.
    @discardableResult
    func markLost(_ id: String, epoch: Int64) -> Bool {
        heldLock.withLock {
            guard held[id] == epoch else { return false }
            return lost.insert(id).inserted
        }
    }

    /// Counts one more hold of model lock `key`; returns whether this daemon held it already.
    func holdModel(_ key: String, taken: Bool = false) -> Bool {
        heldLock.withLock {
            guard taken || heldModels[key] != nil else { return false }
            heldModels[key, default: 0] += 1
            return true
        }
    }

    /// Drops one hold of model lock `key`; returns whether it was the last (the lock is to be released).
    func releaseModel(_ key: String) -> Bool {
        heldLock.withLock {
            guard let count = heldModels[key] else { return false }
            heldModels[key] = count > 1 ? count - 1 : nil
            return count == 1
        }
    }

    /// The model locks held.
    func heldModelKeys() -> [String] {
        heldLock.withLock { Array(heldModels.keys) }
    }

    /// Every job held (not lost), with its epoch.
    public func heldJobs() -> [String: Int64] {
        heldLock.withLock { held.filter { !lost.contains($0.key) } }
    }

    /// Runs a write of job `id` guarded by its epoch (`epoch`, nil when neither held nor lost)
    /// and returns how many rows changed. A held job whose write changed nothing was taken over by
    /// another daemon: it is marked lost and `LeaseLostError` thrown. `ends` gives the hold up
    /// after it succeeds.
    @discardableResult
    func guardedWrite(_ id: String, ends: Bool, _ query: (Int64?) -> PostgresQuery) throws -> Int {
        let epoch = epoch(of: id)
        let changed = try changes(query(epoch))
        if let epoch, changed == 0 {
            markLost(id, epoch: epoch)
            throw LeaseLostError(job: id, epoch: epoch)
        }
        if ends { release(id) }
        return changed
    }

    // MARK: Schema

    /// Applies the migrations the database lacks, in one transaction under `migrationLock`.
    private func migrate(_ connection: PostgresConnection) throws {
        try run(connection, "BEGIN")
        do {
            try run(connection, "SELECT pg_advisory_xact_lock(\(Self.migrationLock))")
            try run(connection, "CREATE TABLE IF NOT EXISTS singan_schema (version integer NOT NULL)")
            let current = try run(connection, "SELECT version FROM singan_schema").first?
                .makeRandomAccess()["version"].decode(Int.self) ?? 0
            guard current <= Self.migrations.count else {
                throw PostgresJournalError(location: location, message: """
                    the database's schema is version \(current), newer than this singan knows \
                    (\(Self.migrations.count)): upgrade singan
                    """)
            }
            for statement in Self.migrations[current...].joined() { try run(connection, statement) }
            if current == 0 {
                try run(connection, "INSERT INTO singan_schema (version) VALUES (\(Self.migrations.count))")
            } else if current < Self.migrations.count {
                try run(connection, "UPDATE singan_schema SET version = \(Self.migrations.count)")
            }
            try run(connection, "COMMIT")
        } catch {
            _ = try? run(connection, "ROLLBACK")
            throw error
        }
    }

    /// The schema version of the database (for tests and `singan status`).
    public func schemaVersion() throws -> Int {
        try run("SELECT version FROM singan_schema").first?.makeRandomAccess()["version"].decode(Int.self) ?? 0
    }

    // MARK: Journal

    public func insert(id: String, pipeline: String, input: String, directory: String) throws {
        try run("""
            INSERT INTO singan_jobs (id, pipeline, input, directory, state) VALUES (\(id), \(pipeline), \(input), \(directory), 'queued')
            """)
    }

    public func start(_ id: String) throws -> JobRecord? {
        try run("""
            UPDATE singan_jobs SET state = 'running', attempts = attempts + 1, started_at = clock_timestamp(), progress = 0, note = NULL
            WHERE id = \(id) AND state = 'queued' RETURNING *
            """).first.map(JobRecord.init(postgres:))
    }

    public func requeue(_ id: String, countAttempt: Bool, note: String?) throws {
        try guardedWrite(id, ends: true) { epoch in """
            UPDATE singan_jobs SET state = 'queued', attempts = attempts - \(countAttempt ? 0 : 1), progress = 0, note = \(note),
                            destination = NULL, outcome = NULL, worker = NULL, lease_until = NULL
            WHERE id = \(id) AND state IN ('queued', 'running') AND (\(epoch)::bigint IS NULL OR epoch = \(epoch))
            """ }
    }

    public func prepare(_ id: String, outcome: JobState, destination: String, outputs: [String], error: String?) throws {
        try guardedWrite(id, ends: false) { epoch in """
            UPDATE singan_jobs SET outcome = \(outcome.rawValue), destination = \(destination), outputs = \(outputs), error = \(error)
            WHERE id = \(id) AND (\(epoch)::bigint IS NULL OR epoch = \(epoch))
            """ }
    }

    public func complete(_ id: String) throws {
        try guardedWrite(id, ends: true) { epoch in """
            UPDATE singan_jobs SET state = outcome, progress = CASE outcome WHEN 'done' THEN 1 ELSE progress END,
                            note = NULL, finished_at = clock_timestamp(), worker = NULL, lease_until = NULL
            WHERE id = \(id) AND outcome IN ('done', 'failed') AND state IN ('queued', 'running')
                  AND (\(epoch)::bigint IS NULL OR epoch = \(epoch))
            """ }
    }

    public func fail(_ id: String, error: String) throws {
        try guardedWrite(id, ends: true) { epoch in """
            UPDATE singan_jobs SET state = 'failed', note = NULL, finished_at = clock_timestamp(), error = \(error),
                            worker = NULL, lease_until = NULL
            WHERE id = \(id) AND state IN ('queued', 'running') AND (\(epoch)::bigint IS NULL OR epoch = \(epoch))
            """ }
    }

    public func progress(_ id: String, _ fraction: Double, note: String?) throws {
        try guardedWrite(id, ends: false) { epoch in """
            UPDATE singan_jobs SET progress = \(fraction), note = \(note)
            WHERE id = \(id) AND (\(epoch)::bigint IS NULL OR epoch = \(epoch))
            """ }
    }

    public func job(_ id: String) throws -> JobRecord? {
        try run("SELECT * FROM singan_jobs WHERE id = \(id)").first.map(JobRecord.init(postgres:))
    }

    public func job(directory: String) throws -> JobRecord? {
        try run("SELECT * FROM singan_jobs WHERE directory = \(directory)").first.map(JobRecord.init(postgres:))
    }

    public func jobs(in states: [JobState], limit: Int) throws -> [JobRecord] {
        try run("""
            SELECT * FROM singan_jobs WHERE state = ANY(\(states.map(\.rawValue))) ORDER BY created_at, seq LIMIT \(limit)
            """).map(JobRecord.init(postgres:))
    }

    @discardableResult
    public func prune(finishedBefore cutoff: Date, keep: Int) throws -> Int {
        try changes("""
            DELETE FROM singan_jobs WHERE state IN ('done', 'failed') AND (
                COALESCE(finished_at, created_at) < \(cutoff) OR
                id IN (SELECT id FROM singan_jobs WHERE state IN ('done', 'failed')
                       ORDER BY COALESCE(finished_at, created_at) DESC, seq DESC OFFSET \(max(0, keep))))
            """)
    }

    public func counts() throws -> [JobState: Int] {
        var result: [JobState: Int] = [:]
        for row in try run("SELECT state, COUNT(*) AS n FROM singan_jobs GROUP BY state") {
            let (state, count) = try row.decode((String, Int).self)
            if let state = JobState(rawValue: state) { result[state] = count }
        }
        return result
    }

    public func recordPipeline(_ name: String, file: String, error: String?) throws {
        try run("""
            INSERT INTO singan_pipelines (name, file, error) VALUES (\(name), \(file), \(error))
            ON CONFLICT (name) DO UPDATE SET file = excluded.file, error = excluded.error, updated_at = clock_timestamp()
            """)
    }

    public func forgetPipeline(_ name: String) throws {
        try run("DELETE FROM singan_pipelines WHERE name = \(name)")
    }

    public func pipelines() throws -> [PipelineRecord] {
        try run("SELECT name, file, error FROM singan_pipelines ORDER BY name").map { row in
            let (name, file, error) = try row.decode((String, String, String?).self)
            return PipelineRecord(name: name, file: file, error: error)
        }
    }
}

extension JobRecord {
    /// A `jobs` row of `PostgresJournal`.
    init(postgres row: PostgresRow) throws {
        let row = row.makeRandomAccess()
        func column<T: PostgresDecodable>(_ name: String, _ type: T.Type = T.self) throws -> T {
            try row[name].decode(T.self)
        }
        self.init(id: try column("id"), pipeline: try column("pipeline"), input: try column("input"),
                  directory: try column("directory"), state: JobState(rawValue: try column("state")) ?? .failed,
                  attempts: try column("attempts"), error: try column("error"), progress: try column("progress"),
                  note: try column("note"), createdAt: try column("created_at"), startedAt: try column("started_at"),
                  finishedAt: try column("finished_at"), outputs: try column("outputs"),
                  destination: try column("destination"),
                  outcome: (try column("outcome", String?.self)).flatMap(JobState.init(rawValue:)))
    }
}

extension PostgresJournalError {
    /// Wraps any error of a journal call; postgres-nio's `PSQLError` gives its server message.
    init(location: PostgresLocation, underlying: any Error) {
        if let error = underlying as? PostgresJournalError {
            self = error
            return
        }
        let detail: String
        if let error = underlying as? PSQLError {
            if let message = error.serverInfo?[.message] {
                detail = message
            } else if let cause = error.underlying {
                detail = "\(error.code): \(cause)"
            } else {
                detail = "\(error.code)"
            }
        } else {
            detail = "\(underlying)"
        }
        self.init(location: location, message: detail)
    }
}
#endif
