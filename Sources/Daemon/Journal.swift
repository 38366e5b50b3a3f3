import Foundation

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

    public init(id: String, pipeline: String, input: String, directory: String, state: JobState, attempts: Int = 0,
                error: String? = nil, progress: Double = 0, note: String? = nil, createdAt: Date, startedAt: Date? = nil,
                finishedAt: Date? = nil, outputs: [String] = [], destination: String? = nil, outcome: JobState? = nil) {
        self.id = id
        self.pipeline = pipeline
        self.input = input
        self.directory = directory
        self.state = state
        self.attempts = attempts
        self.error = error
        self.progress = progress
        self.note = note
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.outputs = outputs
        self.destination = destination
        self.outcome = outcome
    }
}

/// A pipeline file as last (re)loaded by the daemon.
public struct PipelineRecord: Sendable, Equatable {
    public var name: String
    public var file: String
    /// Why the last load failed; nil when it loaded.
    public var error: String?

    public init(name: String, file: String, error: String?) {
        self.name = name
        self.file = file
        self.error = error
    }
}

/// The durable record of every accepted job, which `JobCustody` orders against its file moves so
/// that a crash at any point can be recovered (see `JobCustody`).
///
/// A backend must make each call one atomic, durable transaction, safe to call from any thread,
/// and keep these rules: a job moves only queued → running → queued | done | failed (and
/// queued → done | failed); `start` claims a job at most once however many callers race;
/// `complete`, `fail` and `requeue` leave finished jobs alone, so repeating them after a crash is
/// harmless. Backends: `SQLiteJournal` (the root's file, one machine) and `PostgresJournal`; a
/// `JournalLocation` opens either.
public protocol Journal: AnyObject, Sendable {
    /// Records a newly accepted job as queued.
    func insert(id: String, pipeline: String, input: String, directory: String) throws
    /// queued → running; counts the attempt and clears progress and note. Returns the job after
    /// the change, or nil when the job was not queued (so two workers can never both start it).
    func start(_ id: String) throws -> JobRecord?
    /// queued or running → queued, clearing any prepared outcome. A clean stop does not count the
    /// attempt (`countAttempt: false` gives back the one `start` counted); a crash does.
    func requeue(_ id: String, countAttempt: Bool, note: String?) throws
    /// Records how the job ends and where its input goes, just before the input is moved, so that
    /// recovery can complete the job if the process dies between the move and `complete`.
    func prepare(_ id: String, outcome: JobState, destination: String, outputs: [String], error: String?) throws
    /// Applies the prepared outcome to a queued or running job: it becomes done (progress 1) or failed.
    func complete(_ id: String) throws
    /// queued or running → failed with `error`, without a prepared outcome.
    func fail(_ id: String, error: String) throws
    /// Records a running job's progress (0...1) and what it is doing.
    func progress(_ id: String, _ fraction: Double, note: String?) throws
    func job(_ id: String) throws -> JobRecord?
    /// The job whose processing folder is `directory`, in any state.
    func job(directory: String) throws -> JobRecord?
    /// Jobs in `states`, oldest first (by creation, then insertion).
    func jobs(in states: [JobState], limit: Int) throws -> [JobRecord]
    /// Deletes finished (done or failed) jobs that ended before `cutoff`, and those beyond the
    /// `keep` most recently finished; returns how many were deleted. Queued and running jobs stay.
    @discardableResult
    func prune(finishedBefore cutoff: Date, keep: Int) throws -> Int
    /// How many jobs are in each state (states without jobs may be missing).
    func counts() throws -> [JobState: Int]
    /// Records the result of (re)loading a pipeline file: `error` is nil when it loaded.
    func recordPipeline(_ name: String, file: String, error: String?) throws
    func forgetPipeline(_ name: String) throws
    /// Every known pipeline, by name.
    func pipelines() throws -> [PipelineRecord]
}

extension Journal {
    /// Every job in `states` (all by default), oldest first.
    public func jobs(in states: [JobState] = JobState.allCases) throws -> [JobRecord] {
        try jobs(in: states, limit: 1_000_000)
    }
}
