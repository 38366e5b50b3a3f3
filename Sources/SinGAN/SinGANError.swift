/// Errors of SinGAN training, sampling and model files. Every message names what is wrong and why.
public enum SinGANError: Error, CustomStringConvertible, Equatable {
    /// A training or sampling parameter is out of its domain.
    case invalidConfiguration(parameter: String, reason: String)
    /// The image (the file at `path`, when it came from one) cannot make a pyramid with this
    /// configuration.
    case imageTooSmall(path: String?, width: Int, height: Int, reason: String)
    /// The model file cannot be used. `kind` says whether it is truncated, corrupt or incompatible.
    case modelFile(path: String, kind: ModelFileProblem, reason: String)
    /// Writing a model or checkpoint failed.
    case writeFailed(path: String, reason: String)
    /// `--resume` was asked for but the checkpoint does not match this run.
    case resumeMismatch(path: String, reason: String)
    /// Training produced a non-finite loss (diverged).
    case diverged(scale: Int, iteration: Int, loss: String)
    /// Training was stopped by its cancellation check; the checkpoint holds the progress.
    case cancelled(checkpoint: String?)

    public var description: String {
        switch self {
        case let .invalidConfiguration(parameter, reason):
            return "invalid \(parameter): \(reason)"
        case let .imageTooSmall(path, width, height, reason):
            return "\(path.map { "\($0): " } ?? "")image \(width)x\(height) is too small: \(reason)"
        case let .modelFile(path, kind, reason):
            return "\(path): \(kind.rawValue) model file: \(reason)"
        case let .writeFailed(path, reason):
            return "cannot write \(path): \(reason)"
        case let .resumeMismatch(path, reason):
            return "cannot resume from \(path): \(reason)"
        case let .diverged(scale, iteration, loss):
            return "training diverged at scale \(scale), iteration \(iteration): \(loss) is not finite"
        case let .cancelled(checkpoint):
            if let checkpoint { return "training stopped; progress saved in \(checkpoint) (resume with --resume)" }
            return "training stopped"
        }
    }
}

/// Why a model file was rejected.
public enum ModelFileProblem: String, Sendable {
    /// Shorter than its header says (an interrupted copy or write).
    case truncated
    /// Damaged: unparsable header, inconsistent offsets, checksum mismatch, non-finite values.
    case corrupt
    /// A valid file of another kind or format version, or one missing SinGAN tensors.
    case incompatible
    /// The file cannot be opened or read at all.
    case unreadable
}
