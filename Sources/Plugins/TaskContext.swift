import Foundation
import Logging

/// What the runner lends a task for one run: where to write, how to report progress, when to stop.
/// `@unchecked`: `issued` is guarded by `lock`; the rest is constant (`onProgress` and the
/// checkpoint policy's closures are called only from the thread that runs the task, or must be
/// thread-safe).
public final class TaskContext: @unchecked Sendable {
    /// An empty-at-start folder for this run's outputs (on the same file system as the outbox).
    public let workDirectory: URL
    /// A folder that survives restarts of the same job (and is shared by jobs training the same
    /// image with the same parameters): training keeps its checkpoints here.
    public let checkpointDirectory: URL
    /// Set when the job must stop (daemon shutdown). Check it at safe points.
    public let cancellation: CancellationToken
    /// The largest image, in pixels, a task may load or produce.
    public let maxPixels: Int
    /// Models loaded from files, shared across jobs.
    public let models: LoadedModelCache
    /// Where a training task keeps its checkpoint and whether it continues one (default: the
    /// daemon's jobs', a file in `checkpointDirectory`, continued when its configuration matches).
    public let checkpointPolicy: CheckpointPolicy
    /// Where a task logs notable events of a run (e.g. `train.resumed`); the daemon's job log.
    public let logger: Logger
    private let onProgress: (TaskProgress) -> Void
    private let lock = NSLock()
    private var issued = Set<String>()

    public init(workDirectory: URL, checkpointDirectory: URL, cancellation: CancellationToken = CancellationToken(),
                maxPixels: Int = 50_000_000, models: LoadedModelCache = LoadedModelCache(),
                checkpointPolicy: CheckpointPolicy = CheckpointPolicy(),
                logger: Logger = Logger(label: "singan.task", factory: { _ in SwiftLogNoOpLogHandler() }),
                onProgress: @escaping (TaskProgress) -> Void = { _ in }) {
        self.workDirectory = workDirectory
        self.checkpointDirectory = checkpointDirectory
        self.cancellation = cancellation
        self.maxPixels = maxPixels
        self.models = models
        self.checkpointPolicy = checkpointPolicy
        self.logger = logger
        self.onProgress = onProgress
    }

    /// Reports progress of this run in 0...1, with an optional note (e.g. "upsampling step 2/5").
    public func report(progress: Double, _ note: String? = nil) {
        report(TaskProgress(fraction: progress, note: note))
    }

    /// Reports progress (a training run sends the trainer's full report this way).
    public func report(_ progress: TaskProgress) {
        var clamped = progress
        clamped.fraction = min(1, max(0, progress.fraction))
        onProgress(clamped)
    }

    /// A fresh path in the work directory for an output named `name` (e.g. "sample.png").
    /// Repeated names get a numeric suffix, so parallel or repeated calls never collide.
    public func outputURL(_ name: String) -> URL {
        lock.lock(); defer { lock.unlock() }
        let base = (name as NSString).deletingPathExtension
        let ext = (name as NSString).pathExtension
        var candidate = name
        var n = 1
        while issued.contains(candidate) || FileManager.default.fileExists(atPath: workDirectory.appendingPathComponent(candidate).path) {
            candidate = ext.isEmpty ? "\(base)-\(n)" : "\(base)-\(n).\(ext)"
            n += 1
        }
        issued.insert(candidate)
        return workDirectory.appendingPathComponent(candidate)
    }
}
