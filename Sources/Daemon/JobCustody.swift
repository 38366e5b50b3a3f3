import Foundation
import Logging

/// Holds each dropped file from its inbox until it rests in `done/` or `failed/`, ordering every
/// file move against the journal so that a crash at any point loses nothing and repeats nothing.
///
/// The crash protocol: a file's journey, and how `recover` repairs a crash at each point.
/// 1. accept (`accept`): `inbox/NAME/x.png` is renamed to `processing/NAME/<id>/x.png`, then the
///    job is journaled as queued. A folder with no job row is adopted (journaled) at recovery.
/// 2. side files are moved into the same folder once they all arrived; the job stays queued
///    (done by `Daemon`: each side file is either still in the inbox or in the folder).
/// 3. run: queued → running (attempt counted); outputs are written atomically to the outbox.
///    A running job without a journaled outcome was interrupted: it is queued again, or failed
///    after `max_attempts`.
/// 4. finish (`finish`): the outcome and destination are journaled, the `.error.txt` of a failure
///    is written at the destination, the input and then its side files are moved to `done/NAME/`
///    or `failed/NAME/`, the job becomes done or failed, and its folder is removed. A job whose
///    outcome was journaled but whose input is still in its folder is finished that way; one
///    whose input already reached its destination gets its side files moved and is marked; the
///    folder of a finished job is removed.
/// `recover` is idempotent: a crash during recovery is repaired by the next one.
/// A step that fails without a crash (a full disk) throws and loses nothing: `accept` leaves the
/// file in its inbox or in its job folder (`AcceptError`), and `finish` called again carries on
/// from what the journal holds; `Daemon` retries both with back-off until there is room.
final class JobCustody: Sendable {
    /// The points between the protocol's durable steps, in order.
    enum Step: CaseIterable, Sendable {
        /// Accept: the input is in its job folder, not yet journaled.
        case movedIntoProcessing
        /// Finish: the outcome and destination are journaled.
        case prepared
        /// Finish: a failure's `.error.txt` is written.
        case reportWritten
        /// Finish: the input is at its destination.
        case inputMoved
        /// Finish: the side files are at their destinations too.
        case sideFilesMoved
        /// Finish: the job is done or failed; its folder is still there.
        case completed
    }

    let root: URL
    let journal: any Journal
    private let logger: Logger
    /// Called after each step; tests throw from it to stop there, as a crash or a failed write would.
    private let afterStep: @Sendable (Step) throws -> Void

    init(root: URL, journal: any Journal, logger: Logger, afterStep: @escaping @Sendable (Step) throws -> Void = { _ in }) {
        self.root = root
        self.journal = journal
        self.logger = logger
        self.afterStep = afterStep
    }

    /// Why `accept` took no job. The file is never lost: it rests where the case says.
    enum AcceptError: Error, CustomStringConvertible {
        /// The file is still in its inbox: its job folder could not be made, or the rename failed.
        case stillInInbox(Error)
        /// The file rests in its job folder `processing/PIPELINE/id/` but its job is not
        /// journaled: `journalAccepted` completes the step (else the next start adopts it).
        case notJournaled(id: String, Error)

        var description: String {
            switch self {
            case .stillInInbox(let error), .notJournaled(_, let error): return "\(error)"
            }
        }
    }

    /// Step 1: moves `source` (a complete inbox file) into a new job folder under `processing/`
    /// and journals it as a queued job. Returns the job's id, or nil when the file is gone (taken
    /// by a duplicate event, or removed); throws `AcceptError`.
    func accept(_ source: URL, pipeline: String) throws -> String? {
        let name = source.lastPathComponent
        let id = UUID().uuidString.lowercased()
        let jobFolder = root.appendingPathComponent(Self.directory(pipeline: pipeline, id: id))
        do {
            try FileManager.default.createDirectory(at: jobFolder, withIntermediateDirectories: true)
        } catch {
            throw AcceptError.stillInInbox(error)
        }
        guard rename(source.path, jobFolder.appendingPathComponent(name).path) == 0 else {
            let reason = errno
            try? FileManager.default.removeItem(at: jobFolder)
            if reason == ENOENT { return nil }
            throw AcceptError.stillInInbox(FileMoveError(source: source.path, destination: jobFolder.path,
                                                         reason: String(cString: strerror(reason))))
        }
        do {
            try afterStep(.movedIntoProcessing)
            try journalAccepted(id: id, pipeline: pipeline, input: name)
        } catch {
            throw AcceptError.notJournaled(id: id, error)
        }
        logger.info("job.accepted", metadata: ["pipeline": "\(pipeline)", "job": "\(id)", "input": "\(name)"])
        return id
    }

    /// Journals the file in job folder `id` as a queued job (the second half of `accept`, and
    /// its retry); nothing happens if the job is journaled already.
    func journalAccepted(id: String, pipeline: String, input: String) throws {
        if try journal.job(id) != nil { return }
        try journal.insert(id: id, pipeline: pipeline, input: input, directory: Self.directory(pipeline: pipeline, id: id))
    }

    static func directory(pipeline: String, id: String) -> String { "processing/\(pipeline)/\(id)" }

    /// Step 4: ends a job: journals the outcome and the input's destination in `done/` or
    /// `failed/`, then carries the decision out (`carryOut`). Each step starts from what the
    /// journal holds, so calling it again after it threw (a full disk: the daemon retries with
    /// back-off) carries on where it stopped, and the outcome journaled first wins. A job that is
    /// finished already is left alone.
    func finish(_ job: JobRecord, pipeline: Pipeline?, outcome: JobState, outputs: [URL], error: String?, since: Date) throws {
        guard var current = try journal.job(job.id) else { return }
        guard current.state == .queued || current.state == .running else {
            try? FileManager.default.removeItem(at: root.appendingPathComponent(job.directory))
            return
        }
        if current.outcome == nil || current.destination == nil {
            let folders = pipeline?.folders ?? PipelineFolders.defaults(for: job.pipeline)
            let target = try RootPath.resolve(outcome == .done ? folders.done : folders.failed, under: root)
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            let destination = relative(FileMoves.freeName(job.input, in: target, tag: String(job.id.prefix(8))))
            try journal.prepare(job.id, outcome: outcome, destination: destination, outputs: outputs.map(relative), error: error)
            try afterStep(.prepared)
            current.outcome = outcome
            current.destination = destination
            current.outputs = outputs.map(relative)
            current.error = error
        }
        try carryOut(current, since: since)
    }

    /// The steps of finishing after the outcome was journaled, each skipped when it is done
    /// already: the `.error.txt` of a failure is written at the destination, the input and then
    /// its side files are moved there, the job becomes done or failed, and its folder is removed.
    /// A job whose input is neither in its folder nor at its destination fails as vanished.
    ///
    /// In a fleet two daemons may carry the same outcome out: one that lost its lease while
    /// finishing (a stall longer than the lease), and the one that took the job over. The input's
    /// move is one rename (on one file system), which only one of them can make, and neither
    /// repeats it:
    /// - the holder renews its lease at its epoch right before the first file it writes
    ///   (`SharedJournal.confirmLease`), so one that lost the job stops there (`LeaseLostError`),
    ///   and after the renewal no daemon can take the job over for a whole lease (30 s by
    ///   default), against the milliseconds the report and the rename take;
    /// - should it stall past that too, the carrying out is idempotent: the destination is looked
    ///   at before the input, so an input moved between the two looks is found at its destination
    ///   (never taken for another file there, which would send it to a new name), and a rename that
    ///   fails because the other daemon moved the input meanwhile goes on from there; the job is
    ///   completed as recorded, by whichever holder's epoch is current.
    private func carryOut(_ job: JobRecord, since: Date) throws {
        guard let outcome = job.outcome, let journaled = job.destination else { return }
        let jobFolder = root.appendingPathComponent(job.directory)
        let input = jobFolder.appendingPathComponent(job.input)
        var destination = absolute(journaled)
        let target = destination.deletingLastPathComponent()
        let tag = String(job.id.prefix(8))
        let destinationTaken = Self.exists(destination)
        if Self.exists(input) {
            if destinationTaken {
                // Taken since the outcome was journaled (another job's input of the same name,
                // finished while this one waited for room): never overwrite it.
                destination = FileMoves.freeName(job.input, in: target, tag: tag)
                try journal.prepare(job.id, outcome: outcome, destination: relative(destination), outputs: job.outputs, error: job.error)
            }
            try (journal as? any SharedJournal)?.confirmLease(job.id)
            if outcome == .failed {
                // Written after `prepare`, so a crash before it cannot leave a report for a job
                // that is retried and succeeds.
                let report = "input: \(job.input)\npipeline: \(job.pipeline)\njob: \(job.id)\nattempts: \(job.attempts)\n" +
                             "failed: \(ISO8601DateFormatter().string(from: Date()))\nerror: \(job.error ?? "unknown")\n"
                try FileMoves.writeAtomically(report, to: URL(fileURLWithPath: destination.path + ".error.txt"))
                try afterStep(.reportWritten)
            }
            do {
                try FileMoves.moveAtomically(input, to: destination)
            } catch where !Self.exists(input) && Self.exists(destination) {
                // The daemon that held the job before moved it there meanwhile (see above).
            }
            try afterStep(.inputMoved)
        } else if !Self.exists(destination) {
            try journal.fail(job.id, error: "the input vanished from \(job.directory)")
            logger.warning("job.failed", metadata: ["job": "\(job.id)", "input": "\(job.input)", "error": "input vanished"])
            try? FileManager.default.removeItem(at: jobFolder)
            return
        }
        try moveSideFiles(from: jobFolder, to: target, tag: tag)
        try afterStep(.sideFilesMoved)
        try journal.complete(job.id)
        try afterStep(.completed)
        try? FileManager.default.removeItem(at: jobFolder)
        var metadata: Logger.Metadata = ["pipeline": "\(job.pipeline)", "job": "\(job.id)", "input": "\(job.input)",
                                         "duration": "\(JobExecutor.seconds(since: since))"]
        if outcome == .failed {
            metadata["error"] = "\(job.error ?? "unknown")"
            logger.warning("job.failed", metadata: metadata)
        } else {
            metadata["outputs"] = "\(job.outputs.joined(separator: ","))"
            logger.info("job.done", metadata: metadata)
        }
    }

    /// Whether something is at `url`, a symbolic link included (a failed job's input may be a
    /// link, to nowhere).
    private static func exists(_ url: URL) -> Bool {
        var info = stat()
        return lstat(url.path, &info) == 0
    }

    /// Side files travel with their input: every file left in the job folder but its scratch
    /// (hidden) entries. One that left the folder since it was listed was moved by the daemon
    /// that held the job before (see `carryOut`).
    private func moveSideFiles(from jobFolder: URL, to target: URL, tag: String) throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: jobFolder.path)) ?? []
        for name in names.sorted() where !name.hasPrefix(".") {
            let file = jobFolder.appendingPathComponent(name)
            do {
                try FileMoves.moveAtomically(file, to: FileMoves.freeName(name, in: target, tag: tag))
            } catch where !Self.exists(file) {}
        }
    }

    /// A step of `recover` that failed (a full disk, typically): `retry` tries it again and
    /// returns whether the job is queued now (to be scheduled).
    struct Unfinished: Sendable {
        let id: String
        let input: String
        let error: Error
        let retry: @Sendable () throws -> Bool
    }

    /// Brings the journal and `processing/` back in step after a crash, before any job runs:
    /// afterwards every job folder belongs to a queued job, except those returned, whose repair
    /// failed (the caller retries them). `pipelines` are the loaded ones, by name (a job of a
    /// missing pipeline finishes into the default folders, with 3 attempts).
    @discardableResult
    func recover(pipelines: [String: Pipeline]) throws -> [Unfinished] {
        var unfinished: [Unfinished] = []
        for job in try journal.jobs(in: [.queued, .running]) {
            let pipeline = pipelines[job.pipeline]
            do {
                try recover(job, pipeline: pipeline)
            } catch {
                logger.error("job.recovery_failed", metadata: ["job": "\(job.id)", "input": "\(job.input)", "error": "\(error)"])
                unfinished.append(Unfinished(id: job.id, input: job.input, error: error) { [self] in
                    guard let current = try journal.job(job.id) else { return false }
                    try recover(current, pipeline: pipeline)
                    return try journal.job(job.id)?.state == .queued
                })
            }
        }
        return unfinished + (try adoptOrphans(pipelines: pipelines))
    }

    /// `recover` for a daemon that shares the root and a `SharedJournal` with others: their queued
    /// and running jobs are theirs (a running job whose lease expires is taken over and repaired
    /// by `recover(_:pipeline:)`), so only job folders without a job are adopted, and only once
    /// older than `minimumAge`: a younger one may be another daemon's, between its move and its insert.
    func recoverShared(pipelines: [String: Pipeline], minimumAge: TimeInterval) throws -> [Unfinished] {
        try adoptOrphans(pipelines: pipelines, minimumAge: minimumAge)
    }

    /// Repairs one queued or running job after a crash (see `recover`), or a running job taken
    /// over from a daemon whose lease expired: re-queued counting the attempt, failed past the
    /// pipeline's `max_attempts`, or finished as journaled.
    func recover(_ job: JobRecord, pipeline: Pipeline?) throws {
        guard job.state == .queued || job.state == .running else { return }
        if job.outcome != nil, job.destination != nil {
            // Died after deciding the outcome: carry the decision out from where it stopped.
            try carryOut(job, since: job.startedAt ?? job.createdAt)
            return
        }
        let jobFolder = root.appendingPathComponent(job.directory)
        if !Self.exists(jobFolder.appendingPathComponent(job.input)) {
            try journal.fail(job.id, error: "the input vanished from \(job.directory)")
            logger.warning("job.failed", metadata: ["job": "\(job.id)", "input": "\(job.input)", "error": "input vanished"])
            try? FileManager.default.removeItem(at: jobFolder)
            return
        }
        let limit = pipeline?.maxAttempts ?? 3
        if job.state != .running {
            return
        } else if job.attempts >= limit {
            try finish(job, pipeline: pipeline, outcome: .failed, outputs: [],
                       error: "interrupted \(job.attempts) times (the process died during the job); giving up after max_attempts = \(limit)",
                       since: job.startedAt ?? job.createdAt)
        } else {
            try journal.requeue(job.id, countAttempt: true, note: "interrupted; retrying (attempt \(job.attempts + 1) of \(limit))")
            logger.info("job.retry", metadata: ["job": "\(job.id)", "input": "\(job.input)", "attempts": "\(job.attempts)"])
        }
    }

    /// Journals job folders left by a crash between moving the input and journaling the job, and
    /// removes the folders of finished jobs and empty ones; returns the folders it could not
    /// journal. Folders modified less than `minimumAge` seconds ago are left alone.
    private func adoptOrphans(pipelines: [String: Pipeline], minimumAge: TimeInterval = 0) throws -> [Unfinished] {
        let fm = FileManager.default
        let processing = root.appendingPathComponent("processing")
        var unfinished: [Unfinished] = []
        for pipelineName in (try? fm.contentsOfDirectory(atPath: processing.path)) ?? [] {
            let pipelineFolder = processing.appendingPathComponent(pipelineName)
            for id in (try? fm.contentsOfDirectory(atPath: pipelineFolder.path)) ?? [] {
                let directory = Self.directory(pipeline: pipelineName, id: id)
                let jobFolder = root.appendingPathComponent(directory)
                if let known = try journal.job(directory: directory) {
                    if known.state == .done || known.state == .failed { try? fm.removeItem(at: jobFolder) }
                    continue
                }
                if minimumAge > 0 {
                    var info = stat()
                    guard lstat(jobFolder.path, &info) == 0,
                          Date().timeIntervalSince1970 - Double(info.st_mtim.tv_sec) > minimumAge else { continue }
                }
                let files = ((try? fm.contentsOfDirectory(atPath: jobFolder.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
                let pipeline = pipelines[pipelineName]
                guard let input = files.first(where: { !(pipeline?.isSideFile($0) ?? false) }) ?? files.first else {
                    try? fm.removeItem(at: jobFolder)
                    continue
                }
                do {
                    try journalAccepted(id: id, pipeline: pipelineName, input: input)
                    logger.info("job.adopted", metadata: ["pipeline": "\(pipelineName)", "job": "\(id)", "input": "\(input)"])
                } catch {
                    logger.error("job.adopt_failed", metadata: ["pipeline": "\(pipelineName)", "job": "\(id)", "input": "\(input)", "error": "\(error)"])
                    unfinished.append(Unfinished(id: id, input: input, error: error) { [self] in
                        try journalAccepted(id: id, pipeline: pipelineName, input: input)
                        return true
                    })
                }
            }
        }
        return unfinished
    }

    /// A path as the journal records it (`relative`), as a URL.
    func absolute(_ path: String) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path) : root.appendingPathComponent(path)
    }

    /// `url`'s path relative to the root (as the journal records paths), or its absolute path
    /// when it lies outside.
    func relative(_ url: URL) -> String {
        let path = url.standardizedFileURL.path
        let prefix = root.path.hasSuffix("/") ? root.path : root.path + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }
}
