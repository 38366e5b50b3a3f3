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
    /// Called after each step; tests throw from it to stop here as a crash would.
    private let afterStep: @Sendable (Step) throws -> Void

    init(root: URL, journal: any Journal, logger: Logger, afterStep: @escaping @Sendable (Step) throws -> Void = { _ in }) {
        self.root = root
        self.journal = journal
        self.logger = logger
        self.afterStep = afterStep
    }

    /// Step 1: moves `source` (a complete inbox file) into a new job folder under `processing/`
    /// and journals it as a queued job. Returns the job's id, or nil when nothing was accepted
    /// (the file is gone, or an error was logged).
    func accept(_ source: URL, pipeline: String) -> String? {
        let name = source.lastPathComponent
        let id = UUID().uuidString.lowercased()
        let directory = "processing/\(pipeline)/\(id)"
        let jobFolder = root.appendingPathComponent(directory)
        do {
            try FileManager.default.createDirectory(at: jobFolder, withIntermediateDirectories: true)
            guard rename(source.path, jobFolder.appendingPathComponent(name).path) == 0 else {
                let reason = errno
                try? FileManager.default.removeItem(at: jobFolder)
                if reason != ENOENT {  // ENOENT: taken already (a duplicate event), or gone
                    logger.error("job.accept_failed", metadata: ["pipeline": "\(pipeline)", "input": "\(name)",
                                                                 "error": "\(String(cString: strerror(reason)))"])
                }
                return nil
            }
            try afterStep(.movedIntoProcessing)
            try journal.insert(id: id, pipeline: pipeline, input: name, directory: directory)
        } catch {
            logger.error("job.accept_failed", metadata: ["pipeline": "\(pipeline)", "input": "\(name)", "error": "\(error)"])
            return nil
        }
        logger.info("job.accepted", metadata: ["pipeline": "\(pipeline)", "job": "\(id)", "input": "\(name)"])
        return id
    }

    /// Step 4: ends a job: journals the outcome, moves the input and side files to done/ or
    /// failed/ (with an `.error.txt`), then marks the job done or failed. A failure to move is
    /// logged and leaves the job for `recover`.
    func finish(_ job: JobRecord, pipeline: Pipeline?, outcome: JobState, outputs: [URL], error: String?, since: Date) {
        let folders = pipeline?.folders ?? PipelineFolders.defaults(for: job.pipeline)
        let jobFolder = root.appendingPathComponent(job.directory)
        let input = jobFolder.appendingPathComponent(job.input)
        let tag = String(job.id.prefix(8))
        do {
            let target = try RootPath.resolve(outcome == .done ? folders.done : folders.failed, under: root)
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            let destination = FileMoves.freeName(job.input, in: target, tag: tag)
            try journal.prepare(job.id, outcome: outcome, destination: relative(destination), outputs: outputs.map(relative), error: error)
            try afterStep(.prepared)
            if let error {
                // Written after `prepare`, so a crash before it cannot leave a report for a job
                // that is retried and succeeds; `recover` writes it again if it is missing.
                let report = "input: \(job.input)\npipeline: \(job.pipeline)\njob: \(job.id)\nattempts: \(job.attempts)\n" +
                             "failed: \(ISO8601DateFormatter().string(from: Date()))\nerror: \(error)\n"
                try FileMoves.writeAtomically(report, to: URL(fileURLWithPath: destination.path + ".error.txt"))
                try afterStep(.reportWritten)
            }
            try FileMoves.moveAtomically(input, to: destination)
            try afterStep(.inputMoved)
            try moveSideFiles(from: jobFolder, to: target, tag: tag)
            try afterStep(.sideFilesMoved)
            try journal.complete(job.id)
            try afterStep(.completed)
            try? FileManager.default.removeItem(at: jobFolder)
        } catch let moveError {
            logger.error("job.finish_failed", metadata: ["job": "\(job.id)", "error": "\(moveError)"])
            return
        }
        var metadata: Logger.Metadata = ["pipeline": "\(job.pipeline)", "job": "\(job.id)", "input": "\(job.input)",
                                         "duration": "\(JobExecutor.seconds(since: since))"]
        if let error {
            metadata["error"] = "\(error)"
            logger.warning("job.failed", metadata: metadata)
        } else {
            metadata["outputs"] = "\(outputs.map(relative).joined(separator: ","))"
            logger.info("job.done", metadata: metadata)
        }
    }

    /// Side files travel with their input: every file left in the job folder but its scratch
    /// (hidden) entries.
    private func moveSideFiles(from jobFolder: URL, to target: URL, tag: String) throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: jobFolder.path)) ?? []
        for name in names.sorted() where !name.hasPrefix(".") {
            try FileMoves.moveAtomically(jobFolder.appendingPathComponent(name), to: FileMoves.freeName(name, in: target, tag: tag))
        }
    }

    /// Brings the journal and `processing/` back in step after a crash, before any job runs:
    /// afterwards every job folder belongs to a queued job. `pipelines` are the loaded ones, by
    /// name (a job of a missing pipeline finishes into the default folders, with 3 attempts).
    func recover(pipelines: [String: Pipeline]) throws {
        for job in try journal.jobs(in: [.queued, .running]) {
            let jobFolder = root.appendingPathComponent(job.directory)
            let pipeline = pipelines[job.pipeline]
            if !FileManager.default.fileExists(atPath: jobFolder.appendingPathComponent(job.input).path) {
                if job.outcome != nil, let destination = job.destination,
                   FileManager.default.fileExists(atPath: root.appendingPathComponent(destination).path) {
                    // Died after moving the input, before marking the job: finish the bookkeeping.
                    let target = root.appendingPathComponent(destination).deletingLastPathComponent()
                    try? moveSideFiles(from: jobFolder, to: target, tag: String(job.id.prefix(8)))
                    try journal.complete(job.id)
                    logger.info("job.recovered", metadata: ["job": "\(job.id)", "input": "\(job.input)", "state": "\(job.outcome!.rawValue)"])
                } else {
                    try journal.fail(job.id, error: "the input vanished from \(job.directory)")
                    logger.warning("job.failed", metadata: ["job": "\(job.id)", "input": "\(job.input)", "error": "input vanished"])
                }
                try? FileManager.default.removeItem(at: jobFolder)
                continue
            }
            let limit = pipeline?.maxAttempts ?? 3
            if let outcome = job.outcome {
                // Died after deciding the outcome, before moving the input: carry the decision out.
                finish(job, pipeline: pipeline, outcome: outcome, outputs: job.outputs.map { root.appendingPathComponent($0) },
                       error: job.error, since: job.startedAt ?? job.createdAt)
            } else if job.state != .running {
                continue
            } else if job.attempts >= limit {
                finish(job, pipeline: pipeline, outcome: .failed, outputs: [],
                       error: "interrupted \(job.attempts) times (the process died during the job); giving up after max_attempts = \(limit)",
                       since: job.startedAt ?? job.createdAt)
            } else {
                try journal.requeue(job.id, countAttempt: true, note: "interrupted; retrying (attempt \(job.attempts + 1) of \(limit))")
                logger.info("job.retry", metadata: ["job": "\(job.id)", "input": "\(job.input)", "attempts": "\(job.attempts)"])
            }
        }
        try adoptOrphans(pipelines: pipelines)
    }

    /// Journals job folders left by a crash between moving the input and journaling the job, and
    /// removes the folders of finished jobs and empty ones.
    private func adoptOrphans(pipelines: [String: Pipeline]) throws {
        let fm = FileManager.default
        let processing = root.appendingPathComponent("processing")
        for pipelineName in (try? fm.contentsOfDirectory(atPath: processing.path)) ?? [] {
            let pipelineFolder = processing.appendingPathComponent(pipelineName)
            for id in (try? fm.contentsOfDirectory(atPath: pipelineFolder.path)) ?? [] {
                let directory = "processing/\(pipelineName)/\(id)"
                let jobFolder = root.appendingPathComponent(directory)
                if let known = try journal.job(directory: directory) {
                    if known.state == .done || known.state == .failed { try? fm.removeItem(at: jobFolder) }
                    continue
                }
                let files = ((try? fm.contentsOfDirectory(atPath: jobFolder.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
                let pipeline = pipelines[pipelineName]
                guard let input = files.first(where: { !(pipeline?.isSideFile($0) ?? false) }) ?? files.first else {
                    try? fm.removeItem(at: jobFolder)
                    continue
                }
                try journal.insert(id: id, pipeline: pipelineName, input: input, directory: directory)
                logger.info("job.adopted", metadata: ["pipeline": "\(pipelineName)", "job": "\(id)", "input": "\(input)"])
            }
        }
    }

    /// `url`'s path relative to the root (as the journal records paths), or its absolute path
    /// when it lies outside.
    func relative(_ url: URL) -> String {
        let path = url.standardizedFileURL.path
        let prefix = root.path.hasSuffix("/") ? root.path : root.path + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }
}
