import Foundation
import Logging
import Plugins

/// Settings of `singan daemon`.
public struct DaemonOptions: Sendable {
    /// Holds `pipelines/`, the pipelines' folders, `processing/`, `cache/` and `journal.sqlite`.
    public var root: URL
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

    // Guarded by `lock`: touched by workers.
    private let lock = NSLock()
    private var stopping = false
    private var tokens: [String: CancellationToken] = [:]
    private var active = Set<String>()
    private var lastProgress: [String: Date] = [:]
    private var waitingLogged = Set<String>()

    public init(options: DaemonOptions, registry: PluginRegistry = .standard, logger: Logger) throws {
        self.options = options
        self.registry = registry
        self.logger = logger
        root = options.root.standardizedFileURL
        pipelinesFolder = root.appendingPathComponent("pipelines")
        parser = PipelineParser(registry: registry)
        for folder in ["pipelines", "processing", "cache"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        journal = try SQLiteJournal(url: root.appendingPathComponent("journal.sqlite"))
        custody = JobCustody(root: root, journal: journal, logger: logger)
        executor = JobExecutor(root: root, registry: registry, models: LoadedModelCache(capacity: options.loadedModels),
                               trainingSlots: options.trainingSlots, stepDelay: options.stepDelay, logger: logger)
    }

    /// Runs until SIGTERM or SIGINT (or `stop()`), then stops cleanly: running jobs are
    /// cancelled (training checkpoints) and re-queued for the next start.
    public func run() throws {
        let instance = try DaemonLock(root: root)
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
        try custody.recover(pipelines: control.sync { pipelines })
        prune()
        let pruner = DispatchSource.makeTimerSource(queue: control)
        pruner.schedule(deadline: .now() + options.journalPruneInterval, repeating: options.journalPruneInterval)
        pruner.setEventHandler { [weak self] in self?.prune() }
        pruner.resume()
        defer { pruner.cancel() }
        let pool = WorkerPool(count: options.workers) { [unowned self] id in self.process(id) }
        control.sync { self.pool = pool }
        for job in try journal.jobs(in: [.queued]) { pool.submit(job.id) }
        watcher.start()
        control.sync { for pipeline in pipelines.values.sorted(by: { $0.name < $1.name }) { scan(pipeline) } }
        logger.info("daemon.started", metadata: ["root": "\(root.path)", "pipelines": "\(control.sync { pipelines.count })",
                                                 "workers": "\(options.workers)", "pid": "\(getpid())"])

        stopSignal.wait()
        let stopStarted = Date()
        logger.info("daemon.stopping")
        watcher.stop()
        lock.lock()
        stopping = true
        let running = tokens.count
        tokens.values.forEach { $0.cancel() }
        lock.unlock()
        pool.stop()
        control.sync {}
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
            if let other = pipelines.values.first(where: { $0.name != name && $0.folders.inbox == pipeline.folders.inbox }) {
                throw PipelineError(file: file.path, line: 0, column: 0,
                                    message: "inbox \(pipeline.folders.inbox) is already the inbox of pipeline '\(other.name)'")
            }
            let f = pipeline.folders
            for (key, relative) in [("inbox", f.inbox), ("outbox", f.outbox), ("done", f.done), ("failed", f.failed)] {
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
            try? journal.recordPipeline(name, file: file.path, error: nil)
            for job in (try? journal.jobs(in: [.queued])) ?? [] where job.pipeline == name { pool?.submit(job.id) }
            logger.info(old == nil ? "pipeline.loaded" : "pipeline.reloaded",
                        metadata: ["pipeline": "\(name)", "inbox": "\(pipeline.folders.inbox)", "steps": "\(pipeline.steps.count)"])
        } catch {
            let action = old == nil ? "not loaded" : "keeping the last good version"
            logger.error("pipeline.invalid", metadata: ["pipeline": "\(name)", "error": "\(error)", "action": "\(action)"])
            try? journal.recordPipeline(name, file: file.path, error: "\(error) (\(action))")
        }
    }

    private func unload(_ file: URL) {
        let name = file.deletingPathExtension().lastPathComponent
        guard let old = pipelines.removeValue(forKey: name) else { return }
        if let inbox = try? folder(old.folders.inbox) { watcher?.unwatch(inbox) }
        try? journal.forgetPipeline(name)
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

    // MARK: Jobs

    /// Hands a complete inbox file to `custody`, which journals it as a queued job, and schedules it.
    private func accept(_ name: String, into pipeline: Pipeline) {
        guard !InboxRules.isIgnored(name), let inbox = try? folder(pipeline.folders.inbox) else { return }
        let source = inbox.appendingPathComponent(name)
        // An empty file is typically `touch`ed or created before being written: wait for the
        // close after its content (an empty file is no image anyway).
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: source.path),
              attributes[.type] as? FileAttributeType != .typeDirectory,
              (attributes[.size] as? NSNumber)?.intValue ?? 0 > 0 else { return }
        arrived[inbox.path, default: []].insert(name)
        if pipeline.isSideFile(name) { return }

        guard let id = custody.accept(source, pipeline: pipeline.name) else { return }
        arrived[inbox.path]?.remove(name)
        pool?.submit(id)
    }

    /// Runs one queued job on a worker thread.
    private func process(_ id: String) {
        lock.lock()
        let claimed = active.insert(id).inserted
        lock.unlock()
        guard claimed else { return }  // another worker has it (submitted twice)
        defer { lock.lock(); active.remove(id); lock.unlock() }
        guard !isStopping, let job = try? journal.job(id), job.state == .queued else { return }
        guard let pipeline = control.sync(execute: { pipelines[job.pipeline] }) else {
            // Resubmitted by `load` when the pipeline file is valid again.
            try? journal.progress(id, 0, note: "waiting for pipeline '\(job.pipeline)' to load (its file is missing or invalid)")
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
                    try? journal.progress(id, 0, note: "waiting for side file \(missing.joined(separator: ", "))")
                }
                pool?.submit(id, after: 0.25)
            } else {
                custody.finish(job, pipeline: pipeline, outcome: .failed, outputs: [],
                               error: "side file \(missing.joined(separator: ", ")) did not arrive within \(String(format: "%g", pipeline.sideFileTimeout)) s", since: job.createdAt)
            }
            return
        }

        guard let running = try? journal.start(id) else { return }
        let started = Date()
        let token = CancellationToken()
        lock.lock(); tokens[id] = token; waitingLogged.remove(id); lock.unlock()
        defer { lock.lock(); tokens[id] = nil; lastProgress[id] = nil; lock.unlock() }
        // A cancel that raced with `start` must still stop this job.
        if isStopping { token.cancel() }
        logger.info("job.started", metadata: ["pipeline": "\(pipeline.name)", "job": "\(id)", "input": "\(job.input)",
                                              "attempt": "\(running.attempts)"])
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
            custody.finish(running, pipeline: pipeline, outcome: .done, outputs: outputs, error: nil, since: started)
        } catch let error where error is TaskCancelled || token.isCancelled {
            try? journal.requeue(id, countAttempt: false, note: "stopped by the daemon; resumes at the next start")
            logger.info("job.requeued", metadata: ["pipeline": "\(pipeline.name)", "job": "\(id)", "input": "\(job.input)",
                                                   "duration": "\(JobExecutor.seconds(since: started))"])
        } catch {
            custody.finish(running, pipeline: pipeline, outcome: .failed, outputs: [], error: "\(error)", since: started)
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
        if due { try? journal.progress(id, fraction, note: note) }
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
    /// writes to (never the inboxes, which hold users' files).
    private func removeStaleTemporaries() {
        let (written, inboxes) = control.sync {
            (pipelines.values.flatMap { p in [p.folders.outbox, p.folders.done, p.folders.failed].compactMap { try? folder($0) } },
             pipelines.values.compactMap { try? folder($0.folders.inbox) })
        }
        let folders = ["processing", "cache"].map { root.appendingPathComponent($0) } + written
        for file in StaleTemporaries.remove(under: folders, skipping: inboxes + [pipelinesFolder]) {
            logger.info("temporary.removed", metadata: ["file": "\(custody.relative(file))"])
        }
    }
}
