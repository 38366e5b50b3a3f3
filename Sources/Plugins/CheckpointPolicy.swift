import SinGAN

/// Where a training run keeps its checkpoint and whether it continues one it finds there: set by
/// the runner on the task's context.
///
/// The daemon's jobs keep the default: the checkpoint is a file of the task's own name in
/// `TaskContext.checkpointDirectory`, and a checkpoint of the same configuration is continued
/// silently, so a job stopped by a shutdown or a crash continues where it stopped. `singan train`
/// checkpoints into the model file it writes and continues it only with `--resume`.
public struct CheckpointPolicy {
    /// How a run treats the checkpoint file.
    public enum Start {
        /// Continue a checkpoint of this run's configuration (or hand over the model it holds, if
        /// that run finished); discard anything else there and start anew.
        case resumeMatching
        /// Start anew. An existing file is not removed first: the run's first checkpoint replaces
        /// it, once the image and the configuration were found usable.
        case new
        /// Continue the checkpoint with the configuration it was started with. `check` sees that
        /// configuration first and throws to refuse it (options that contradict it). A damaged
        /// checkpoint or a finished model is an error, not a reason to start anew.
        case resume(check: (TrainingConfig) throws -> Void)
    }

    public var start: Start
    /// The checkpoint file, as given (messages name it so); nil: the task's own file in the
    /// context's checkpoint directory.
    public var file: String?
    /// Called with the trainer once it is ready, before its first iteration: the image and any
    /// checkpoint were found usable. `singan train` announces a resumed run here, and keeps the
    /// trainer for its result line and report.
    public var willTrain: (SinGANTrainer) -> Void

    public init(start: Start = .resumeMatching, file: String? = nil, willTrain: @escaping (SinGANTrainer) -> Void = { _ in }) {
        self.start = start
        self.file = file
        self.willTrain = willTrain
    }
}
