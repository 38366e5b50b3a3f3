import ArgumentParser
import Daemon
import Foundation
import Logging
import Plugins

/// `singan daemon --root DIR`: watch every pipeline's inbox and process what arrives.
struct DaemonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Watch the inbox of every pipeline under ROOT/pipelines and run each dropped image.",
        discussion: """
            ROOT/pipelines/NAME.yaml watches ROOT/inbox/NAME/, writes to ROOT/outbox/NAME/ and moves \
            each input to ROOT/done/NAME/ or ROOT/failed/NAME/ (with NAME.error.txt). Pipeline files \
            are reloaded when edited. SIGTERM or SIGINT stops cleanly (exit 0) within --shutdown-timeout \
            seconds: running jobs are cancelled (training checkpoints) and resume at the next start. Finished jobs are dropped \
            from the journal after --keep-days or beyond the --keep-jobs most recent. The journal is \
            ROOT/journal.sqlite, or a PostgreSQL database with --journal postgres://USER@HOST:PORT/DB \
            (password from PGPASSWORD or ~/.pgpass, never the command line), which several daemons on \
            one shared ROOT may share: each claims jobs under a --lease it renews. See docs/PIPELINES.md.
            """)

    @Option(help: "The root folder holding pipelines/, inbox/, outbox/, done/, failed/.")
    var root: String

    @Option(help: "The job journal: postgres://USER@HOST:PORT/DB (password from PGPASSWORD or ~/.pgpass); ROOT/journal.sqlite when left out.")
    var journal: String?

    @Option(help: "Jobs that run at once.")
    var workers: Int = 2

    @Option(help: "Training runs at once.")
    var trainingSlots: Int = 1

    @Option(help: "Trained models kept loaded in memory.")
    var loadedModels: Int = 4

    @Option(help: "Days finished jobs stay in the journal (and in `singan status`).")
    var keepDays: Double = 30

    @Option(help: "Most finished jobs kept in the journal (the most recent).")
    var keepJobs: Int = 10_000

    @Option(help: "Seconds a stop waits for running jobs; jobs still running then are re-queued and the daemon exits.")
    var shutdownTimeout: Double = 30

    @Option(help: "Megabytes one task run may need at its peak (estimated before it runs; a job over it fails with the reason). Default: three quarters of the machine's memory.")
    var memoryBudgetMb: Int?

    /// For tests: every task run first waits this long, so a test can stop or kill the daemon
    /// while a job is surely running.
    @Option(help: .hidden)
    var stepDelayMs: Double = 0

    @Option(help: "With a PostgreSQL --journal: seconds a claimed job stays this daemon's without a renewal (renewed every third); a job of a daemon that died is taken over by another once its lease expired.")
    var lease: Double = 30

    @Option(help: "Seconds between listings of every inbox, for files no inotify event announces (written by other machines on a network file system); a file is taken once unchanged between two listings. 0: none.")
    var rescan: Double = 0

    func validate() throws {
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1") }
        guard trainingSlots >= 1 else { throw ValidationError("--training-slots must be at least 1") }
        guard loadedModels >= 1 else { throw ValidationError("--loaded-models must be at least 1") }
        guard keepDays >= 0, keepDays.isFinite else { throw ValidationError("--keep-days must be a number of days, 0 or more") }
        guard keepJobs >= 0 else { throw ValidationError("--keep-jobs must be 0 or more") }
        guard shutdownTimeout >= 0, shutdownTimeout.isFinite else { throw ValidationError("--shutdown-timeout must be 0 or more seconds") }
        if let memoryBudgetMb, memoryBudgetMb < 1 { throw ValidationError("--memory-budget-mb must be at least 1") }
        guard stepDelayMs >= 0, stepDelayMs.isFinite else { throw ValidationError("--step-delay-ms must be 0 or more") }
        guard lease >= 1, lease <= 86_400 else { throw ValidationError("--lease must be 1 to 86400 seconds") }
        guard rescan == 0 || (rescan >= 0.1 && rescan <= 86_400) else { throw ValidationError("--rescan must be 0 (none) or 0.1 to 86400 seconds") }
        do { _ = try JournalLocation(argument: journal) } catch { throw ValidationError("--journal: \(error)") }
    }

    func run() throws {
        LineLogHandler.bootstrap()
        var options = DaemonOptions(root: URL(fileURLWithPath: root).standardizedFileURL)
        options.journal = try JournalLocation(argument: journal)
        options.workers = workers
        options.lease = lease
        options.rescan = rescan
        options.trainingSlots = trainingSlots
        options.loadedModels = loadedModels
        options.journalRetention = keepDays * 86_400
        options.journalMaxFinished = keepJobs
        options.stepDelay = stepDelayMs / 1000
        options.shutdownTimeout = shutdownTimeout
        if let memoryBudgetMb { options.memoryBudget = memoryBudgetMb << 20 }
        do {
            try Daemon(options: options, logger: Logger(label: "singan.daemon")).run()
        } catch where error is DaemonError || error is PostgresJournalError || error is JournalLocationError {
            FileHandle.standardError.write(Data("singan daemon: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
