import Foundation

/// A journal that several daemons share (`PostgresJournal`): instead of starting the jobs its own
/// process queued, each daemon claims the next queued job under a lease, renews the leases of the
/// jobs it holds while they run, and takes over running jobs whose lease expired (their daemon
/// died, or lost the database) to recover them as a restart would.
///
/// The journal remembers the epoch of each job it holds; its writes of a held job require that
/// epoch and throw `LeaseLostError` when another daemon took the job over meanwhile, so the
/// loser stops without moving any file. Ending the job (`requeue`, `complete`, `fail`) releases it.
/// A job whose lease was lost stays lost (every write of it fails) until this journal claims it again.
public protocol SharedJournal: Journal {
    /// How long a claim lasts unless renewed, in seconds.
    var lease: TimeInterval { get }
    /// This daemon's name in the journal.
    var worker: WorkerIdentity { get }
    /// Binds the database to the root whose files its jobs are (`FleetIdentity`): the first daemon
    /// records `rootID`, and a daemon on another root is refused with the reason.
    func bind(rootID: String) throws
    /// queued → running under a new lease held by this journal, for the oldest queued job of one
    /// of `pipelines` that no other claim holds; counts the attempt like `start`. Nil when none.
    func claim(pipelines: [String]) throws -> JobRecord?
    /// Extends the lease of every job held and records this daemon's heartbeat; returns the held
    /// jobs whose lease was lost (taken over): they are not renewed again, and their writes fail.
    func renewLeases() throws -> Set<String>
    /// Takes over every running job whose lease expired, holding each under a new epoch, for the
    /// caller to recover (re-queue counting the attempt, fail past the limit, or finish a
    /// journaled outcome).
    func takeOverExpired() throws -> [JobRecord]
    /// The jobs this journal holds, with their epochs.
    func heldJobs() -> [String: Int64]
    /// Renews the lease of job `id` now, at its epoch, right before a file move that cannot be
    /// taken back (`JobCustody`'s final move of the input): throws `LeaseLostError` when another
    /// daemon took the job over. A job this journal neither holds nor lost is left alone.
    func confirmLease(_ id: String) throws
    /// Gives up job `id` without a write (its requeue failed: the database is out of reach): it
    /// is no longer renewed, and once its lease expired any daemon, this one included, takes it over.
    func abandon(_ id: String)
    /// Removes this daemon's heartbeat (a clean stop).
    func leave() throws
    /// The daemons whose heartbeat is in the journal, by host and pid, with their running jobs.
    func workers() throws -> [WorkerRecord]
}

/// A daemon of a fleet as the shared journal knows it (for `singan status`).
public struct WorkerRecord: Sendable, Equatable {
    public var id: String
    public var host: String
    public var pid: Int
    /// Seconds since its last heartbeat, by the database's clock.
    public var silence: Double
    /// Inputs of the jobs it runs, oldest first.
    public var running: [String]
    /// Ids of the same jobs, in the same order.
    public var jobs: [String]
}

/// A write of a job whose lease this daemon lost: another daemon took the job over.
public struct LeaseLostError: Error, CustomStringConvertible {
    public let job: String
    /// The epoch this daemon held; the job's is higher now.
    public let epoch: Int64

    public var description: String {
        "lost the lease of job \(job) (epoch \(epoch)): another daemon took it over after the lease expired"
    }
}

/// Names a daemon in a shared journal: host, process and a random suffix, since a pid is
/// reused after a restart and the old rows must not look like this daemon's.
public struct WorkerIdentity: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let pid: Int32
    public let id: String

    public var description: String { id }

    /// The identity of this process (a new suffix at each call).
    public static func current() -> WorkerIdentity {
        let pid = getpid()
        let host = hostName()
        return WorkerIdentity(host: host, pid: pid, id: "\(host):\(pid):\(UUID().uuidString.prefix(8).lowercased())")
    }

    /// The kernel's host name (`gethostname`; Foundation's `hostName` may ask DNS).
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown-host" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
