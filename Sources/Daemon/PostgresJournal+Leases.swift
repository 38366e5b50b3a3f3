#if PostgreSQL
import Foundation
import PostgresNIO

/// `SharedJournal` on PostgreSQL. Each call is one statement, and the times are the server's
/// (`clock_timestamp()`), so the nodes' clocks never matter. A claim is
/// `SELECT ... FOR UPDATE SKIP LOCKED` inside the `UPDATE`: racing daemons each lock a different
/// queued row instead of waiting on the same one, and the outer `state = 'queued'` keeps a job
/// claimed at most once even so.
extension PostgresJournal: SharedJournal, ModelLocks {
    public func bind(rootID: String) throws {
        try run("INSERT INTO singan_fleet (root_id) VALUES (\(rootID)) ON CONFLICT (one) DO NOTHING")
        let bound = try run("SELECT root_id FROM singan_fleet").first?.makeRandomAccess()["root_id"].decode(String.self)
        guard bound == rootID else {
            throw PostgresJournalError(location: location, message: """
                this database holds the jobs of another root (its \(FleetIdentity.fileName) says \(bound ?? "nothing"), \
                this root's says \(rootID)): daemons sharing a database must share one root folder; give this root \
                a database of its own
                """)
        }
    }

    public func claim(pipelines: [String]) throws -> JobRecord? {
        guard !pipelines.isEmpty else { return nil }
        guard let row = try run("""
            UPDATE singan_jobs SET state = 'running', attempts = attempts + 1, started_at = clock_timestamp(), progress = 0,
                            note = NULL, worker = \(worker.id), lease_until = clock_timestamp() + \(lease) * interval '1 second',
                            epoch = epoch + 1
            WHERE id = (SELECT id FROM singan_jobs WHERE state = 'queued' AND outcome IS NULL AND pipeline = ANY(\(pipelines))
                        ORDER BY created_at, seq LIMIT 1 FOR UPDATE SKIP LOCKED)
                  AND state = 'queued'
            RETURNING *
            """).first else { return nil }
        return try held(row)
    }

    public func renewLeases() throws -> Set<String> {
        try run("""
            INSERT INTO singan_workers (id, host, pid) VALUES (\(worker.id), \(worker.host), \(Int(worker.pid)))
            ON CONFLICT (id) DO UPDATE SET heartbeat = clock_timestamp()
            """)
        let models = heldModelKeys()
        if !models.isEmpty {
            try run("""
                UPDATE singan_model_locks SET lease_until = clock_timestamp() + \(lease) * interval '1 second'
                WHERE worker = \(worker.id) AND key = ANY(\(models))
                """)
        }
        let jobs = heldJobs()
        guard !jobs.isEmpty else { return [] }
        let ids = Array(jobs.keys)
        let renewed = try run("""
            UPDATE singan_jobs SET lease_until = clock_timestamp() + \(lease) * interval '1 second'
            FROM unnest(\(ids)::text[], \(ids.map { jobs[$0]! })::bigint[]) AS held (id, epoch)
            WHERE singan_jobs.id = held.id AND singan_jobs.epoch = held.epoch AND singan_jobs.state = 'running'
            RETURNING singan_jobs.id
            """).map { try $0.decode(String.self) }
        // Jobs that ended here meanwhile are not held any more; those still held at the same epoch were taken over.
        return Set(Set(ids).subtracting(renewed).filter { markLost($0, epoch: jobs[$0]!) })
    }

    /// Never a job this journal holds: a lease of its own that expired (the database was out of
    /// reach) is renewed again while the job still runs. A job it gave up (`abandon`) is taken
    /// over like any other.
    public func takeOverExpired() throws -> [JobRecord] {
        // Workers silent for an hour are gone: their rows would only clutter `singan status`.
        try run("DELETE FROM singan_workers WHERE heartbeat < clock_timestamp() - interval '1 hour'")
        let holding = Array(heldJobs().keys)
        return try run("""
            UPDATE singan_jobs SET worker = \(worker.id), lease_until = clock_timestamp() + \(lease) * interval '1 second',
                            epoch = epoch + 1
            WHERE id IN (SELECT id FROM singan_jobs WHERE state = 'running' AND (lease_until IS NULL OR lease_until < clock_timestamp())
                               AND NOT id = ANY(\(holding)::text[])
                         FOR UPDATE SKIP LOCKED)
                  AND state = 'running'
            RETURNING *
            """).map(held)
    }

    public func confirmLease(_ id: String) throws {
        guard let epoch = epoch(of: id) else { return }
        try guardedWrite(id, ends: false) { _ in """
            UPDATE singan_jobs SET lease_until = clock_timestamp() + \(lease) * interval '1 second'
            WHERE id = \(id) AND state IN ('queued', 'running') AND epoch = \(epoch)
            """ }
    }

    public func abandon(_ id: String) {
        guard let epoch = epoch(of: id) else { return }
        markLost(id, epoch: epoch)
    }

    public func leave() throws {
        try run("DELETE FROM singan_workers WHERE id = \(worker.id)")
    }

    public func lockModel(_ key: String) throws -> Bool {
        if holdModel(key) { return true }
        let taken = try run("""
            INSERT INTO singan_model_locks (key, worker, lease_until)
            VALUES (\(key), \(worker.id), clock_timestamp() + \(lease) * interval '1 second')
            ON CONFLICT (key) DO UPDATE SET worker = excluded.worker, lease_until = excluded.lease_until
                WHERE singan_model_locks.lease_until < clock_timestamp()
            RETURNING key
            """)
        return !taken.isEmpty && holdModel(key, taken: true)
    }

    public func unlockModel(_ key: String) throws {
        guard releaseModel(key) else { return }
        try run("DELETE FROM singan_model_locks WHERE key = \(key) AND worker = \(worker.id)")
    }

    public func workers() throws -> [WorkerRecord] {
        try run("""
            SELECT w.id, w.host, w.pid, extract(epoch FROM clock_timestamp() - w.heartbeat)::float8 AS silence,
                   COALESCE(array_agg(j.input ORDER BY j.seq) FILTER (WHERE j.id IS NOT NULL), '{}') AS running,
                   COALESCE(array_agg(j.id ORDER BY j.seq) FILTER (WHERE j.id IS NOT NULL), '{}') AS jobs
            FROM singan_workers w LEFT JOIN singan_jobs j ON j.worker = w.id AND j.state = 'running'
            GROUP BY w.id ORDER BY w.host, w.pid, w.id
            """).map { row in
            let (id, host, pid, silence, running, jobs) = try row.decode((String, String, Int, Double, [String], [String]).self)
            return WorkerRecord(id: id, host: host, pid: pid, silence: silence, running: running, jobs: jobs)
        }
    }

    /// The job of a row this journal just claimed or took over, now held at the row's epoch.
    private func held(_ row: PostgresRow) throws -> JobRecord {
        let job = try JobRecord(postgres: row)
        hold(job.id, epoch: try row.makeRandomAccess()["epoch"].decode(Int64.self))
        return job
    }
}
#endif
