import Foundation
import Logging
import Plugins
import Vips

/// Settings of `singan daemon`.
public struct DaemonOptions: Sendable {
    /// Holds `pipelines/`, the pipelines' folders, `processing/`, `cache/` and `journal.sqlite`.
    public var root: URL
    /// The job journal: `journal.sqlite` in the root, or a PostgreSQL database.
    public var journal: JournalLocation = .sqlite
    /// Jobs that run at once.
    public var workers: Int = 2
    /// Training runs at once.
    public var trainingSlots: Int = 1
    /// Models kept loaded in memory.
    public var loadedModels: Int = 4
    /// Whether SIGTERM and SIGINT stop the daemon (off when a test runs it in-process).
    public var handleSignals = true
    /// Finished (done or failed) jobs stay in the journal, and in `singan status`, this long...
    public var journalRetention: TimeInterval = 30 * 86_400
    /// ...and at most this many of them, the most recent.
    public var journalMaxFinished = 10_000
    /// How often the journal is pruned while the daemon runs (it is also pruned at start).
    public var journalPruneInterval: TimeInterval = 3600
    /// Seconds every task run waits (cancellably) before it starts: 0 in use; tests set it so
    /// they can stop or kill the process while a job is surely running.
    public var stepDelay: TimeInterval = 0
    /// Seconds a stop (SIGTERM, SIGINT) waits for running jobs to notice their cancellation.
    /// Jobs still running then (a worker stuck in a read or a long kernel) are re-queued in the
    /// journal and the daemon exits anyway; they run again at the next start.
    public var shutdownTimeout: TimeInterval = 30
    /// Bytes one task run may need at its peak, estimated before it runs; a job over it fails
    /// with the reason instead of running (`JobExecutor.memoryBudget`).
    public var memoryBudget: Int = JobExecutor.defaultMemoryBudget
    /// Seconds a job claimed from a shared (PostgreSQL) journal stays this daemon's without a
    /// renewal; renewed every third of it. After a crash, another daemon takes the job over once
    /// it expired. Unused with the SQLite journal.
    public var lease: TimeInterval = 30
    /// Seconds between listings of every inbox, for files no inotify event announced (written by
    /// other machines on a network file system); 0: none.
    public var rescan: TimeInterval = 0

    public init(root: URL) { self.root = root }
}

/// Watches every pipeline's inbox under a root and runs a job for each file that arrives.
///
/// `Daemon` watches and schedules; `JobCustody` moves each file from inbox to `processing/` to
/// `done/` or `failed/` in step with the journal, and repairs a crash at any point at the next
/// start (its documentation states the crash protocol).
/// `@unchecked`: its mutable state is owned by the `control` queue or guarded by `lock` (marked below).
public final class Daemon: @unchecked Sendable {
    public let options: DaemonOptions
    public let registry: PluginRegistry
    private let root: URL
    private let logger: Logger
    private let parser: PipelineParser
    private let journal: any Journal
    /// The journal when it is shared with other daemons (a fleet): jobs are claimed under leases.
    private let shared: (any SharedJournal)?
    private let custody: JobCustody
    private let executor: JobExecutor
    private let pipelinesFolder: URL
    private let control = DispatchQueue(label: "singan.daemon.control")
    private let stopSignal = DispatchSemaphore(value: 0)
    private let startedAt = Date()

    // Owned by `control`.
    private var pipelines: [String: Pipeline] = [:]
    private var arrived: [String: Set<String>] = [:]
    private var watcher: InotifyWatcher?
    private var pool: WorkerPool?
    private var rescans = InboxRescan()

    // Guarded by `lock`: touched by workers.
    private let lock = NSLock()
    private var stopping = false
    private var tokens: [String: CancellationToken] = [:]
    private var active = Set<String>()
    private var lastProgress: [String: Date] = [:]
    private var waitingLogged = Set<String>()
    /// Consecutive failed tries of a job's bookkeeping (journal writes, file moves: a full disk).
    private var failedTries: [String: Int] = [:]
    private var progressFailed = Set<String>()
    /// Jobs claimed from the shared journal, until a worker takes them up.
    private var claimed: [String: JobRecord] = [:]
    private var claimFailing = false

    public init(options: DaemonOptions, registry: PluginRegistry = .standard, logger: Logger) throws {
        self.options = options
        self.registry = registry
        root = options.root.standardizedFileURL
        pipelinesFolder = root.appendingPathComponent("pipelines")
        parser = PipelineParser(registry: registry)
        for folder in ["pipelines", "processing", "cache"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        journal = try options.journal.open(root: root, lease: options.lease)
        shared = journal as? any SharedJournal
        try shared?.bind(rootID: FleetIdentity.of(root: root))
        // A fleet's logs are read side by side: every line names the machine.
        var logger = logger
        if let shared { logger[metadataKey: "host"] = "\(shared.worker.host)" }
        self.logger = logger
        custody = JobCustody(root: root, journal: journal, logger: logger)
        executor = JobExecutor(root: root, registry: registry, models: LoadedModelCache(capacity: options.loadedModels),
                               trainingSlots: options.trainingSlots, stepDelay: options.stepDelay,
                               memoryBudget: options.memoryBudget, logger: logger)
        executor.modelStore.locks = shared as? any ModelLocks
    }

    /// Runs until SIGTERM or SIGINT (or `stop()`), then stops cleanly: running jobs are
    /// cancelled (training checkpoints) and re-queued for the next start.
    public func run() throws {
        let instance = try DaemonLock(root: root, shared: shared != nil)
        defer { withExtendedLifetime(instance) {} }
        let signals = options.handleSignals ? StopSignals { [weak self] number in
            self?.logger.info("daemon.signal", metadata: ["signal": "\(StopSignals.name(number))"])
            self?.stop()
        } : nil
        defer { signals?.cancel() }

        let watcher = try InotifyWatcher { [weak self] event in
            guard let self else { return }
            self.control.async { self.handle(event) }
        }
        try control.sync {
            self.watcher = watcher
            try watcher.watch(pipelinesFolder)
            for file in pipelineFiles() { load(file, scan: false) }
        }
        removeStaleTemporaries()
        let loaded = control.sync { pipelines }
        // A fleet's running jobs belong to live daemons until their lease expires (`LeaseKeeper`).
        let unfinished = try shared == nil ? custody.recover(pipelines: loaded)
                                           : custody.recoverShared(pipelines: loaded, minimumAge: options.lease)
        prune()
        let pruner = DispatchSource.makeTimerSource(queue: control)
        pruner.schedule(deadline: .now() + options.journalPruneInterval, repeating: options.journalPruneInterval)
        pruner.setEventHandler { [weak self] in self?.prune() }
        pruner.resume()
        defer { pruner.cancel() }
        var claim: (@Sendable () -> String?)?
        if let shared { claim = { [unowned self] in self.claimNext(from: shared) } }
        let pool = WorkerPool(count: options.workers, claim: claim) { [unowned self] id in self.process(id) }
        executor.gate.onWait = { [weak pool] waiting in if waiting { pool?.lend() } else { pool?.reclaim() } }
        control.sync { self.pool = pool }
        let leases = shared.map { shared in
            LeaseKeeper(journal: shared, logger: logger, lost: { [weak self] ids, why in self?.leaseLost(ids, why: why) },
                        expired: { [weak self] job in self?.recoverTakenOver(job) })
        }
        defer { leases?.cancel() }
        for job in try journal.jobs(in: [.queued]) { pool.submit(job.id) }
        for step in unfinished {
            retryLater(step.id, job: step.id, input: step.input, doing: "recovering the job", error: step.error) { daemon in
                if try step.retry() { daemon.pool?.submit(step.id) }
            }
        }
        watcher.start()
        var rescanner: DispatchSourceTimer?
        if options.rescan > 0 {
            let timer = DispatchSource.makeTimerSource(queue: control)
            timer.schedule(deadline: .now() + options.rescan, repeating: options.rescan)
            timer.setEventHandler { [weak self] in self?.rescan() }
            timer.resume()
            rescanner = timer
        }
        defer { rescanner?.cancel() }
        control.sync { for pipeline in pipelines.values.sorted(by: { $0.name < $1.name }) { scan(pipeline) } }
        var started: Logger.Metadata = ["root": "\(root.path)", "pipelines": "\(control.sync { pipelines.count })",
                                        "workers": "\(options.workers)", "pid": "\(getpid())"]
        if let shared { started["worker"] = "\(shared.worker)"; started["lease"] = "\(String(format: "%g", shared.lease))s" }
        logger.info("daemon.started", metadata: started)

        stopSignal.wait()
        let stopStarted = Date()
        logger.info("daemon.stopping")
        watcher.stop()
        lock.lock()
        stopping = true
        let running = tokens.count
        tokens.values.forEach { $0.cancel() }
        lock.unlock()
        if !pool.stop(timeout: options.shutdownTimeout) {
            lock.lock(); let stuck = tokens.keys.sorted(); lock.unlock()
            for id in stuck {
                do {
                    try journal.requeue(id, countAttempt: false, note: "did not stop within \(String(format: "%g", options.shutdownTimeout)) s; resumes at the next start")
                } catch {
                    logger.error("job.requeue_failed", metadata: ["job": "\(id)", "error": "\(error)"])
                }
            }
            logger.warning("daemon.stop_timeout", metadata: ["jobs": "\(stuck.joined(separator: ","))",
                                                            "timeout": "\(String(format: "%g", options.shutdownTimeout))s",
                                                            "action": "re-queued; exiting without waiting for them"])
        }
        control.sync {}
        if let shared {
            leases?.cancel()
            do { try shared.leave() } catch { logger.error("journal.write_failed", metadata: ["error": "\(error)"]) }
        }
        logger.info("daemon.stopped", metadata: ["cancelled": "\(running)", "duration": "\(JobExecutor.seconds(since: stopStarted))"])
    }

    /// Asks `run()` to stop, as SIGTERM does.
    public func stop() { stopSignal.signal() }

    private var isStopping: Bool {
        lock.lock(); defer { lock.unlock() }
        return stopping
    }

    // MARK: Pipelines (on `control`)

    private func pipelineFiles() -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: pipelinesFolder.path)) ?? []
        return names.filter(isPipelineFile).sorted().map { pipelinesFolder.appendingPathComponent($0) }
    }

    private func isPipelineFile(_ name: String) -> Bool {
        !name.hasPrefix(".") && (name.hasSuffix(".yaml") || name.hasSuffix(".yml"))
    }

    private func folder(_ relative: String) throws -> URL {
        try RootPath.resolve(relative, under: root)
    }

    /// Loads or reloads a pipeline file; an invalid file is reported and the last good version kept.
    private func load(_ file: URL, scan: Bool) {
        let name = file.deletingPathExtension().lastPathComponent
        let old = pipelines[name]
        do {
            let pipeline = try parser.parse(fileAt: file)
            try checkApart(pipeline)
            for (key, relative) in pipeline.folders.all {
                do {
                    try FileManager.default.createDirectory(at: try folder(relative), withIntermediateDirectories: true)
                } catch {
                    throw PipelineError(file: file.path, line: 0, column: 0, message: "\(key): \(error)")
                }
            }
            pipelines[name] = pipeline
            if old?.folders.inbox != pipeline.folders.inbox {
                if let old { watcher?.unwatch(try folder(old.folders.inbox)) }
                try watcher?.watch(try folder(pipeline.folders.inbox))
                if scan { self.scan(pipeline) }
            }
            record(name, file: file, error: nil)
            do {
                for job in try journal.jobs(in: [.queued]) where job.pipeline == name { pool?.submit(job.id) }
            } catch {
                logger.error("journal.read_failed", metadata: ["pipeline": "\(name)", "error": "\(error)",
                                                              "action": "its queued jobs start at the next reload or start"])
            }
            logger.info(old == nil ? "pipeline.loaded" : "pipeline.reloaded",
                        metadata: ["pipeline": "\(name)", "inbox": "\(pipeline.folders.inbox)", "steps": "\(pipeline.steps.count)"])
        } catch {
            let action = old == nil ? "not loaded" : "keeping the last good version"
            logger.error("pipeline.invalid", metadata: ["pipeline": "\(name)", "error": "\(error)", "action": "\(action)"])
            record(name, file: file, error: "\(error) (\(action))")
        }
    }

    /// Refuses a pipeline whose folder is, holds or lies inside one of its other folders, a
    /// folder of another pipeline, or the root's own files, compared where they really are
    /// (symbolic links resolved; the parser already compared the paths as written).
    private func checkApart(_ pipeline: Pipeline) throws {
        // Where a folder really is, before it is created: its longest existing part resolved.
        let real = { (relative: String) -> String in
            guard let url = try? self.folder(relative) else { return relative }
            var existing = url, rest: [String] = []
            while !FileManager.default.fileExists(atPath: existing.path), existing.pathComponents.count > 1 {
                rest.insert(existing.lastPathComponent, at: 0)
                existing.deleteLastPathComponent()
            }
            return rest.reduce(existing.resolvingSymlinksInPath().standardizedFileURL) { $0.appendingPathComponent($1) }.path
        }
        let realRoot = root.resolvingSymlinksInPath().standardizedFileURL.path
        var taken: [(what: String, path: String)] = PipelineFolders.reservedNames.map { ("the daemon's own \($0)", realRoot + "/" + $0) }
        taken.append(("the root", realRoot))
        for other in pipelines.values.sorted(by: { $0.name < $1.name }) where other.name != pipeline.name {
            taken += other.folders.all.map { ("the \($0.key) of pipeline '\(other.name)'", real($0.path)) }
        }
        var own: [(what: String, path: String)] = []
        for (key, relative) in pipeline.folders.all {
            let path = real(relative)
            for (what, otherPath) in taken + own {
                // The root holds every folder; only being the root is wrong.
                guard let relation = PipelineFolders.overlap(path, otherPath), what != "the root" || relation == "is" else { continue }
                let position = pipeline.folderPositions[key] ?? (0, 0)
                let resolved = path == realRoot + "/" + relative ? "" : " (\(path))"
                throw PipelineError(file: pipeline.file.path, line: position.line, column: position.column,
                                    message: "\(key) \"\(relative)\"\(resolved) \(relation) \(what); a pipeline's folders must be apart from each other and from every other pipeline's")
            }
            own.append(("its \(key)", path))
        }
    }

    /// Records a pipeline's state for `singan status`; a failed write is logged (the log line
    /// is then the only trace).
    private func record(_ name: String, file: URL, error: String?) {
        do { try journal.recordPipeline(name, file: file.path, error: error) } catch let writeError {
            logger.error("journal.write_failed", metadata: ["pipeline": "\(name)", "error": "\(writeError)"])
        }
    }

    private func unload(_ file: URL) {
        let name = file.deletingPathExtension().lastPathComponent
        guard let old = pipelines.removeValue(forKey: name) else { return }
        if let inbox = try? folder(old.folders.inbox) { watcher?.unwatch(inbox) }
        do { try journal.forgetPipeline(name) } catch {
            logger.error("journal.write_failed", metadata: ["pipeline": "\(name)", "error": "\(error)"])
        }
        logger.info("pipeline.removed", metadata: ["pipeline": "\(name)"])
    }

    private func handle(_ event: InotifyWatcher.Event) {
        guard !isStopping else { return }
        switch event.kind {
        case .overflow:
            logger.warning("watch.overflow", metadata: ["action": "rescanning every folder"])
            for file in pipelineFiles() { load(file, scan: false) }
            for pipeline in pipelines.values { scan(pipeline) }
        case .arrived where event.folder == pipelinesFolder.standardizedFileURL,
             .departed where event.folder == pipelinesFolder.standardizedFileURL:
            guard isPipelineFile(event.name) else { return }
            let file = pipelinesFolder.appendingPathComponent(event.name)
            if FileManager.default.fileExists(atPath: file.path) { load(file, scan: true) } else { unload(file) }
        case .arrived:
            if let pipeline = owner(of: event.folder) { accept(event.name, into: pipeline) }
        case .departed:
            arrived[event.folder.path]?.remove(event.name)
        case .folderGone:
            logger.warning("watch.folder_gone", metadata: ["folder": "\(event.folder.path)"])
        }
    }

    private func owner(of folder: URL) -> Pipeline? {
        pipelines.values.first { (try? self.folder($0.folders.inbox).standardizedFileURL) == folder.standardizedFileURL }
    }

    /// Accepts every file already in the pipeline's inbox (files present at start, or after an overflow).
    private func scan(_ pipeline: Pipeline) {
        guard let inbox = try? folder(pipeline.folders.inbox) else { return }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: inbox.path)) ?? []).sorted()
        for name in names { accept(name, into: pipeline) }
    }

    /// Accepts the files that rest unchanged in an inbox since the last rescan (`InboxRescan`).
    private func rescan() {
        guard !isStopping else { return }
        for pipeline in pipelines.values.sorted(by: { $0.name < $1.name }) {
            guard let inbox = try? folder(pipeline.folders.inbox) else { continue }
            for name in rescans.stable(in: inbox) { accept(name, into: pipeline) }
        }
    }

    // MARK: Jobs

    /// Hands a complete inbox file to `custody`, which journals it as a queued job, and schedules it.
    private func accept(_ name: String, into pipeline: Pipeline) {
        guard !InboxRules.isIgnored(name), let inbox = try? folder(pipeline.folders.inbox) else { return }
        let source = inbox.appendingPathComponent(name)
        let key = source.path  // counts the file's failed tries, before it has a job id
        // lstat: a symbolic link is judged as a link, never by what it points to. An empty regular
        // file is typically `touch`ed or created before being written: wait for the close after
        // its content (an empty file is no image anyway). Anything that is not a regular file (a
        // link, a FIFO, a device) becomes a job that fails with the reason, without being read.
        var info = stat()
        guard lstat(source.path, &info) == 0, info.st_mode & S_IFMT != S_IFDIR,
              info.st_mode & S_IFMT != S_IFREG || info.st_size > 0 else { clearFailures(key); return }
        arrived[inbox.path, default: []].insert(name)
        if pipeline.isSideFile(name) { return }

        do {
            let accepted = try custody.accept(source, pipeline: pipeline.name)
            clearFailures(key)
            guard let id = accepted else { return }
            arrived[inbox.path]?.remove(name)
            pool?.submit(id)
        } catch JobCustody.AcceptError.notJournaled(let id, let error) {
            clearFailures(key)
            arrived[inbox.path]?.remove(name)
            retryLater(id, job: id, input: name, doing: "journaling the accepted job (its input waits in \(JobCustody.directory(pipeline: pipeline.name, id: id)))",
                       error: error) { daemon in
                try daemon.custody.journalAccepted(id: id, pipeline: pipeline.name, input: name)
                daemon.logger.info("job.accepted", metadata: ["pipeline": "\(pipeline.name)", "job": "\(id)", "input": "\(name)"])
                daemon.pool?.submit(id)
            }
        } catch {
            // Still in the inbox: accepted again after the back-off, if its pipeline still takes it.
            retryLater(key, job: nil, input: name, doing: "accepting the file (it waits in the inbox)", error: error) { daemon in
                daemon.control.async {
                    guard !daemon.isStopping, let current = daemon.pipelines[pipeline.name] else { return }
                    daemon.accept(name, into: current)
                }
            }
        }
    }

    /// Runs one job on a worker thread: a queued one (own journal), or one claimed from the shared journal.
    private func process(_ id: String) {
        lock.lock()
        let first = active.insert(id).inserted
        let claim = claimed.removeValue(forKey: id)
        lock.unlock()
        guard first else { return }  // another worker has it (submitted twice)
        defer { lock.lock(); active.remove(id); lock.unlock() }
        if let claim {
            processClaimed(claim)
            return
        }
        guard !isStopping else { return }
        let job: JobRecord
        do {
            // A queued job with a journaled outcome is being finished (by a retry, else by the
            // next start's recovery): it does not run again.
            guard let found = try journal.job(id), found.state == .queued, found.outcome == nil else { return }
            job = found
        } catch {
            retryLater(id, job: id, input: nil, doing: "reading the job from the journal", error: error) { $0.pool?.submit(id) }
            return
        }
        guard let pipeline = control.sync(execute: { pipelines[job.pipeline] }) else {
            // Resubmitted by `load` when the pipeline file is valid again.
            note(id, 0, "waiting for pipeline '\(job.pipeline)' to load (its file is missing or invalid)")
            return
        }
        let jobFolder = root.appendingPathComponent(job.directory)
        let stem = (job.input as NSString).deletingPathExtension
        let missing = gatherSideFiles(pipeline, stem: stem, into: jobFolder)
        if !missing.isEmpty {
            let deadline = max(job.createdAt, startedAt).addingTimeInterval(pipeline.sideFileTimeout)
            if Date() < deadline {
                lock.lock(); let first = waitingLogged.insert(id).inserted; lock.unlock()
                if first {
                    logger.info("job.waiting", metadata: ["pipeline": "\(pipeline.name)", "job": "\(id)", "input": "\(job.input)",
                                                          "side_files": "\(missing.joined(separator: ","))"])
                    note(id, 0, "waiting for side file \(missing.joined(separator: ", "))")
                }
                pool?.submit(id, after: 0.25)
            } else {
                finish(job, pipeline: pipeline, outcome: .failed, outputs: [],
                       error: "side file \(missing.joined(separator: ", ")) did not arrive within \(String(format: "%g", pipeline.sideFileTimeout)) s", since: job.createdAt)
            }
            return
        }

        guard !refusesIrregularFiles(job, pipeline: pipeline, stem: stem) else { return }

        let running: JobRecord
        do {
            guard let started = try journal.start(id) else { return }
            running = started
        } catch {
            retryLater(id, job: id, input: job.input, doing: "starting the job (journal write)", error: error) { $0.pool?.submit(id) }
            return
        }
        execute(running, pipeline: pipeline, stem: stem)
    }

    /// Runs a job this daemon claimed from the shared journal (running, under its lease). It
    /// waits for its side files holding the claim: another daemon's inbox events may not reach
    /// this one, so handing the job back would not make them arrive sooner.
    private func processClaimed(_ job: JobRecord) {
        guard !isStopping, let pipeline = control.sync(execute: { pipelines[job.pipeline] }) else {
            // Stopping, or the pipeline was unloaded since the claim: back to the queue, for a daemon that runs it.
            giveBack(job, note: isStopping ? "stopped by the daemon before it started" : "waiting for pipeline '\(job.pipeline)' to load")
            return
        }
        let stem = (job.input as NSString).deletingPathExtension
        let jobFolder = root.appendingPathComponent(job.directory)
        var missing = gatherSideFiles(pipeline, stem: stem, into: jobFolder)
        if !missing.isEmpty {
            logger.info("job.waiting", metadata: ["pipeline": "\(pipeline.name)", "job": "\(job.id)", "input": "\(job.input)",
                                                  "side_files": "\(missing.joined(separator: ","))"])
            note(job.id, 0, "waiting for side file \(missing.joined(separator: ", "))")
        }
        let deadline = max(job.createdAt, startedAt).addingTimeInterval(pipeline.sideFileTimeout)
        while !missing.isEmpty {
            if isStopping { giveBack(job, note: "stopped by the daemon while waiting for side files"); return }
            if Date() >= deadline {
                finish(job, pipeline: pipeline, outcome: .failed, outputs: [],
                       error: "side file \(missing.joined(separator: ", ")) did not arrive within \(String(format: "%g", pipeline.sideFileTimeout)) s", since: job.createdAt)
                return
            }
            Thread.sleep(forTimeInterval: 0.25)
            missing = gatherSideFiles(pipeline, stem: stem, into: jobFolder)
        }
        guard !refusesIrregularFiles(job, pipeline: pipeline, stem: stem) else { return }
        execute(job, pipeline: pipeline, stem: stem)
    }

    /// Fails the job, unread, when its input or a side file is not a regular file: a link could
    /// lead out of the root or to `/dev/zero`. Returns whether it did.
    private func refusesIrregularFiles(_ job: JobRecord, pipeline: Pipeline, stem: String) -> Bool {
        let jobFolder = root.appendingPathComponent(job.directory)
        for name in [job.input] + pipeline.sideFiles.map({ $0.render(["stem": stem]) }) {
            guard let kind = InputFile.problem(at: jobFolder.appendingPathComponent(name).path) else { continue }
            finish(job, pipeline: pipeline, outcome: .failed, outputs: [],
                   error: "\(name) is \(kind), not a regular file; only regular files are processed", since: job.createdAt)
            return true
        }
        return false
    }

    /// Runs a started (running) job's pipeline and finishes it: done, failed, or re-queued when
    /// the daemon stops or the disk is full.
    private func execute(_ job: JobRecord, pipeline: Pipeline, stem: String) {
        let id = job.id
        let jobFolder = root.appendingPathComponent(job.directory)
        let started = Date()
        let token = CancellationToken()
        lock.lock(); tokens[id] = token; waitingLogged.remove(id); lock.unlock()
        defer { lock.lock(); tokens[id] = nil; lastProgress[id] = nil; lock.unlock() }
        // A cancel that raced with `start` must still stop this job.
        if isStopping { token.cancel() }
        logger.info("job.started", metadata: ["pipeline": "\(pipeline.name)", "job": "\(id)", "input": "\(job.input)",
                                              "attempt": "\(job.attempts)"])
        do {
            let work = jobFolder.appendingPathComponent(".work")
            try clearWork(work)
            var sideFiles: [NameTemplate: URL] = [:]
            for template in pipeline.sideFiles { sideFiles[template] = jobFolder.appendingPathComponent(template.render(["stem": stem])) }
            let input = JobInput(image: jobFolder.appendingPathComponent(job.input), sideFiles: sideFiles,
                                 workDirectory: work, outputDirectory: try folder(pipeline.folders.outbox))
            var jobLogger = logger
            jobLogger[metadataKey: "job"] = "\(id)"
            jobLogger[metadataKey: "pipeline"] = "\(pipeline.name)"
            let outputs = try executor.run(pipeline, on: input, cancellation: token, jobLogger: jobLogger) { [weak self] fraction, note in
                self?.report(id, fraction, note)
            }
            finish(job, pipeline: pipeline, outcome: .done, outputs: outputs, error: nil, since: started)
        } catch let error where error is TaskCancelled || token.isCancelled {
            do {
                try journal.requeue(id, countAttempt: false, note: "stopped by the daemon; resumes at the next start")
                logger.info("job.requeued", metadata: ["pipeline": "\(pipeline.name)", "job": "\(id)", "input": "\(job.input)",
                                                       "duration": "\(JobExecutor.seconds(since: started))"])
            } catch let lost as LeaseLostError {
                logger.warning("job.abandoned", metadata: ["job": "\(id)", "input": "\(job.input)", "reason": "\(lost)"])
            } catch {
                requeueFailed(id, error)
            }
        } catch where DiskSpace.isFull(error) {
            // Not the input's fault: run it again once there is room, without using up an attempt.
            retryLater(id, job: id, input: job.input, doing: "running the job", error: error) { daemon in
                try daemon.journal.requeue(id, countAttempt: false, note: nil)
                daemon.pool?.submit(id)
            }
        } catch {
            finish(job, pipeline: pipeline, outcome: .failed, outputs: [], error: "\(error)", since: started)
        }
    }

    // MARK: Fleet (a shared journal)

    /// A worker's next job from the shared journal: the oldest queued job of a loaded pipeline,
    /// now claimed by this daemon; nil when there is none (or the journal cannot be reached:
    /// logged when that starts and when it ends).
    private func claimNext(from shared: any SharedJournal) -> String? {
        guard !isStopping else { return nil }
        let names = control.sync { Array(pipelines.keys) }
        do {
            let job = try shared.claim(pipelines: names)
            lock.lock()
            let recovered = claimFailing
            claimFailing = false
            if let job { claimed[job.id] = job }
            lock.unlock()
            if recovered { logger.info("journal.claim_recovered") }
            return job?.id
        } catch {
            lock.lock(); let first = !claimFailing; claimFailing = true; lock.unlock()
            if first { logger.error("journal.claim_failed", metadata: ["error": "\(error)", "action": "retrying every 0.5 s"]) }
            return nil
        }
    }

    /// Hands a claimed job that did not start back to the queue, without counting the attempt.
    private func giveBack(_ job: JobRecord, note: String) {
        do {
            try journal.requeue(job.id, countAttempt: false, note: note)
        } catch {
            requeueFailed(job.id, error)
        }
    }

    /// A stopped job could not be re-queued (the journal is out of reach): it stays `running`.
    /// With a journal of its own, the next start re-queues it (counting the attempt); in a fleet
    /// the daemon gives it up, so that its lease expires and a daemon (this one too) takes it over.
    private func requeueFailed(_ id: String, _ error: any Error) {
        logger.error("job.requeue_failed", metadata: ["job": "\(id)", "error": "\(error)",
                                                      "action": shared == nil ? "re-queued at the next start" : "taken over once its lease expired"])
        shared?.abandon(id)
    }

    /// Jobs whose lease this daemon lost (or could not renew): they are cancelled. Their writes
    /// fail from now on (`LeaseLostError`), so none of them moves a file; the daemon that took
    /// them over finishes them.
    private func leaseLost(_ ids: Set<String>, why: String) {
        lock.lock()
        let running = ids.compactMap { id in tokens[id].map { (id, $0) } }
        lock.unlock()
        for (id, token) in running.sorted(by: { $0.0 < $1.0 }) {
            logger.warning("job.lease_lost", metadata: ["job": "\(id)", "reason": "\(why)", "action": "cancelling it"])
            token.cancel()
        }
    }

    /// Recovers a job taken over from a daemon whose lease expired, as a restart would (see
    /// `JobCustody.recover(_:pipeline:)`), then wakes a worker for it.
    private func recoverTakenOver(_ job: JobRecord) {
        let pipeline = control.sync { pipelines[job.pipeline] }
        do {
            try custody.recover(job, pipeline: pipeline)
            pool?.submit(job.id)
        } catch {
            retryLater(job.id, job: job.id, input: job.input, doing: "recovering the job taken over", error: error) { daemon in
                guard let current = try daemon.journal.job(job.id) else { return }
                try daemon.custody.recover(current, pipeline: pipeline)
                daemon.pool?.submit(job.id)
            }
        }
    }

    /// Moves the job's side files that arrived into its folder; returns the names still missing.
    private func gatherSideFiles(_ pipeline: Pipeline, stem: String, into jobFolder: URL) -> [String] {
        guard let inbox = try? folder(pipeline.folders.inbox) else { return [] }
        var missing: [String] = []
        for template in pipeline.sideFiles {
            let name = template.render(["stem": stem])
            let target = jobFolder.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: target.path) { continue }
            let complete = control.sync { arrived[inbox.path]?.contains(name) ?? false }
            if complete, rename(inbox.appendingPathComponent(name).path, target.path) == 0 {
                control.sync { _ = arrived[inbox.path]?.remove(name) }
            } else {
                missing.append(name)
            }
        }
        return missing
    }

    /// Empties the job's scratch folder from an earlier attempt, keeping training checkpoints.
    private func clearWork(_ work: URL) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        for name in try fm.contentsOfDirectory(atPath: work.path) where name != "checkpoints" {
            try fm.removeItem(at: work.appendingPathComponent(name))
        }
    }

    private func report(_ id: String, _ fraction: Double, _ note: String?) {
        lock.lock()
        let due = lastProgress[id].map { Date().timeIntervalSince($0) > 0.5 } ?? true
        if due { lastProgress[id] = Date() }
        lock.unlock()
        if due { self.note(id, fraction, note) }
    }

    /// Records a job's progress and note for `singan status`. A failed write (a full disk) is
    /// logged once per job; the log line is then the only trace.
    private func note(_ id: String, _ fraction: Double, _ note: String?) {
        do {
            try journal.progress(id, fraction, note: note)
        } catch {
            lock.lock(); let first = progressFailed.insert(id).inserted; lock.unlock()
            if first { logger.warning("job.note_failed", metadata: ["job": "\(id)", "note": "\(note ?? "")", "error": "\(error)"]) }
        }
    }

    /// After a bookkeeping step failed (a journal write or a file move, typically on a full
    /// disk): logs it, notes in the journal why job `id` waits (when it has one and the journal
    /// takes the note), and calls `retry` after a back-off of 0.5 s doubling to 30 s; a `retry`
    /// that throws waits again. `key` counts the consecutive failures: the job's id, or the path
    /// of an inbox file not yet accepted. Nothing is retried once the daemon stops: the next
    /// start's recovery (or scan of the inboxes) takes over.
    private func retryLater(_ key: String, job id: String?, input: String?, doing what: String, error: Error,
                            _ retry: @escaping @Sendable (Daemon) throws -> Void) {
        if let lost = error as? LeaseLostError {
            // Another daemon holds the job now and carries it on: retrying would write over it.
            logger.warning("job.abandoned", metadata: ["job": "\(lost.job)", "input": "\(input ?? "")", "reason": "\(lost)"])
            return
        }
        lock.lock()
        let tries = failedTries[key, default: 0] + 1
        failedTries[key] = tries
        lock.unlock()
        let delay = DiskSpace.backoff(afterFailures: tries)
        let reason = "\(what) failed (\(error)); retrying in \(String(format: "%g", delay)) s"
        var metadata: Logger.Metadata = ["error": "\(reason)", "tries": "\(tries)"]
        if let id { metadata["job"] = "\(id)" }
        if let input { metadata["input"] = "\(input)" }
        logger.error("job.waiting", metadata: metadata)
        if let id { note(id, 0, "waiting: \(reason)") }
        DispatchQueue.global().asyncAfter(deadline: .now() + delay) { [weak self] in
            guard let self, !self.isStopping else { return }
            do { try retry(self) } catch {
                self.retryLater(key, job: id, input: input, doing: what, error: error, retry)
            }
        }
    }

    /// A job's (or inbox file's) bookkeeping succeeded: the next failure starts the back-off again.
    private func clearFailures(_ key: String) {
        lock.lock(); failedTries[key] = nil; progressFailed.remove(key); lock.unlock()
    }

    /// Ends a job through `custody`. A failed step (a journal write or a file move: a full disk)
    /// is retried with back-off, each try carrying on from what the journal holds, until it
    /// succeeds or the daemon stops (the next start's recovery then finishes the job).
    private func finish(_ job: JobRecord, pipeline: Pipeline, outcome: JobState, outputs: [URL], error: String?, since: Date) {
        do {
            try custody.finish(job, pipeline: pipeline, outcome: outcome, outputs: outputs, error: error, since: since)
            clearFailures(job.id)
        } catch let failure {
            retryLater(job.id, job: job.id, input: job.input, doing: "finishing the job (\(outcome.rawValue))", error: failure) { daemon in
                try daemon.custody.finish(job, pipeline: pipeline, outcome: outcome, outputs: outputs, error: error, since: since)
                daemon.clearFailures(job.id)
            }
        }
    }

    // MARK: Housekeeping

    /// Drops finished jobs beyond the journal's retention (`DaemonOptions.journalRetention`,
    /// `journalMaxFinished`), so the journal does not grow without bound.
    private func prune() {
        do {
            let removed = try journal.prune(finishedBefore: Date().addingTimeInterval(-options.journalRetention),
                                            keep: options.journalMaxFinished)
            if removed > 0 { logger.info("journal.pruned", metadata: ["jobs": "\(removed)"]) }
        } catch {
            logger.error("journal.prune_failed", metadata: ["error": "\(error)"])
        }
    }

    /// Removes temporaries of atomic writes that a killed process left in the folders the daemon
    /// writes to (never the inboxes, which hold users' files). In a fleet, other daemons are
    /// writing some right now: only those an hour old are stale (an atomic write takes seconds).
    private func removeStaleTemporaries() {
        let (written, inboxes) = control.sync {
            (pipelines.values.flatMap { p in [p.folders.outbox, p.folders.done, p.folders.failed].compactMap { try? folder($0) } },
             pipelines.values.compactMap { try? folder($0.folders.inbox) })
        }
        let folders = ["processing", "cache"].map { root.appendingPathComponent($0) } + written
        let cutoff = shared == nil ? nil : Date().addingTimeInterval(-3600)
        for file in StaleTemporaries.remove(under: folders, skipping: inboxes + [pipelinesFolder], modifiedBefore: cutoff) {
            logger.info("temporary.removed", metadata: ["file": "\(custody.relative(file))"])
        }
    }
}
