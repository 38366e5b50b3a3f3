import Foundation
import Plugins

/// The text `singan status` prints: the daemon, its pipelines, and its jobs by state.
public enum StatusReport {
    /// Renders the journal of `root` (its SQLite file, or the database of `location`); `recent`
    /// limits the done and failed jobs listed.
    public static func render(root: URL, journal location: JournalLocation = .sqlite, recent: Int = 10) throws -> String {
        if location == .sqlite {
            let journalURL = root.appendingPathComponent("journal.sqlite")
            guard FileManager.default.fileExists(atPath: journalURL.path) else {
                throw StatusError(message: "no journal at \(journalURL.path): no daemon has run on this root")
            }
        }
        let journal = try location.open(root: root)
        var lines: [String] = []
        // In a fleet, the daemon holding each running job, by job id.
        var holders: [String: WorkerRecord] = [:]
        if let shared = journal as? any SharedJournal {
            // A fleet: its daemons, on any machine, are known by their heartbeats.
            let workers = try shared.workers()
            for worker in workers { for job in worker.jobs { holders[job] = worker } }
            lines.append("daemons: \(workers.count) sharing the journal, on \(root.path)")
            for worker in workers {
                lines.append("  \(DisplayText.oneLine(worker.host)) pid \(worker.pid)  heartbeat \(Int(worker.silence.rounded())) s ago  " +
                             (worker.running.isEmpty ? "idle" : "running \(worker.running.map(DisplayText.oneLine).joined(separator: ", "))"))
            }
        } else if let pid = DaemonLock.runningPid(root: root) {
            lines.append("daemon: running (pid \(pid)) on \(root.path)")
        } else {
            lines.append("daemon: not running on \(root.path)")
        }
        if case .postgres(let database) = location { lines.append("journal: \(database)") }
        let pipelines = try journal.pipelines()
        lines.append("pipelines: \(pipelines.count)")
        for p in pipelines {
            lines.append("  \(p.name): " + (p.error.map { "INVALID — \(DisplayText.oneLine($0))" } ?? "ok"))
        }
        lines.append(disk(root))
        let counts = try journal.counts()
        lines.append("jobs: " + JobState.allCases.map { "\(counts[$0] ?? 0) \($0.rawValue)" }.joined(separator: ", "))
        let jobs = try journal.jobs(in: [.running, .queued])
        for job in jobs where job.state == .running {
            lines.append("  running  \(job.pipeline)/\(DisplayText.oneLine(job.input))  \(Int((job.progress * 100).rounded()))%" +
                         (job.note.map { "  \(DisplayText.oneLine($0))" } ?? "") + "  attempt \(job.attempts)  job \(job.id.prefix(8))" +
                         (holders[job.id].map { "  on \(DisplayText.oneLine($0.host)) pid \($0.pid)" } ?? ""))
        }
        for job in jobs where job.state == .queued {
            lines.append("  queued   \(job.pipeline)/\(DisplayText.oneLine(job.input))" + (job.note.map { "  \(DisplayText.oneLine($0))" } ?? "") + "  job \(job.id.prefix(8))")
        }
        for (directory, input) in try unjournaled(root: root, journal: journal) {
            lines.append("  waiting  \(DisplayText.oneLine(input))  in \(directory): accepted, not yet in the journal (the daemon retries the write)")
        }
        let finished = try journal.jobs(in: [.done, .failed]).sorted { ($0.finishedAt ?? $0.createdAt) > ($1.finishedAt ?? $1.createdAt) }
        if !finished.isEmpty { lines.append("recent:") }
        for job in finished.prefix(recent) {
            let took = zip(job.startedAt, job.finishedAt).map { String(format: "  %.1fs", $1.timeIntervalSince($0)) } ?? ""
            if job.state == .done {
                lines.append("  done     \(job.pipeline)/\(DisplayText.oneLine(job.input))\(took)  → \(job.outputs.map(DisplayText.oneLine).joined(separator: ", "))")
            } else {
                lines.append("  failed   \(job.pipeline)/\(DisplayText.oneLine(job.input))\(took)  \(DisplayText.oneLine(job.error ?? ""))")
            }
        }
        return lines.joined(separator: "\n")
    }
}

extension StatusReport {
    /// Free space on the root's file system: jobs wait (and are retried) while it is full.
    static func disk(_ root: URL) -> String {
        var info = statvfs()
        guard statvfs(root.path, &info) == 0 else { return "disk: free space unknown (\(String(cString: strerror(errno))))" }
        let free = Int(info.f_bavail) * Int(info.f_frsize)
        // Under 1 MiB a journal write or an output may not fit.
        return "disk: \(MemoryEstimate.text(free)) free on the root's file system" +
               (free < 1 << 20 ? " — FULL: jobs wait and are retried until there is room" : "")
    }

    /// Job folders under `processing/` without a job in the journal, as (folder, input name):
    /// files accepted while the journal took no writes (a full disk), or in the instant between
    /// the two steps of accepting.
    static func unjournaled(root: URL, journal: any Journal) throws -> [(String, String)] {
        let fm = FileManager.default
        var found: [(String, String)] = []
        for pipeline in ((try? fm.contentsOfDirectory(atPath: root.appendingPathComponent("processing").path)) ?? []).sorted() {
            for id in ((try? fm.contentsOfDirectory(atPath: root.appendingPathComponent("processing/\(pipeline)").path)) ?? []).sorted() {
                let directory = JobCustody.directory(pipeline: pipeline, id: id)
                guard try journal.job(directory: directory) == nil else { continue }
                let files = ((try? fm.contentsOfDirectory(atPath: root.appendingPathComponent(directory).path)) ?? [])
                    .filter { !$0.hasPrefix(".") }.sorted()
                if let first = files.first { found.append((directory, "\(pipeline)/\(first)")) }
            }
        }
        return found
    }
}

private func zip<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}

public struct StatusError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
