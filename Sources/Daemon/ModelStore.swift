import Foundation
import Plugins

/// Trained models on disk, keyed by the SHA-256 of the training image's bytes and the training
/// parameters, so a pipeline never trains the same image with the same settings twice.
///
/// Layout: `DIR/<key>/model.<ext>` once trained, and `DIR/<key>/checkpoints/` while training
/// (kept across restarts, so interrupted training resumes).
/// `@unchecked`: its properties are constants (a URL and the thread-safe `TrainingGate`).
public final class ModelStore: @unchecked Sendable {
    public let directory: URL
    public let gate: TrainingGate

    public init(directory: URL, gate: TrainingGate) {
        self.directory = directory
        self.gate = gate
    }

    /// The cache key for training `image` with `parameters`.
    public func key(trainingImage image: URL, parameters: ParameterValues) throws -> String {
        let content = try SHA256.hex(fileAt: image)
        return content + "-" + String(SHA256.hex(Data(parameters.canonical.utf8)).prefix(16))
    }

    /// The cached model file for `key`, if training finished once.
    public func cached(_ key: String) -> URL? {
        let folder = directory.appendingPathComponent(key)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().first { $0.hasPrefix("model.") }.map { folder.appendingPathComponent($0) }
    }

    /// The model for `image`: from the cache, or made by `train` (which gets the checkpoint folder
    /// and returns the model file it wrote) while holding a training slot.
    public func model(trainingImage image: URL, parameters: ParameterValues, cancellation: CancellationToken,
                      train: (_ checkpoints: URL) throws -> URL) throws -> (url: URL, trained: Bool) {
        let key = try key(trainingImage: image, parameters: parameters)
        if let hit = cached(key) { return (hit, false) }
        return try gate.run(cancellation: cancellation) {
            // Another job may have trained this image while we waited for the slot.
            if let hit = cached(key) { return (hit, false) }
            let folder = directory.appendingPathComponent(key)
            let checkpoints = folder.appendingPathComponent("checkpoints")
            try FileManager.default.createDirectory(at: checkpoints, withIntermediateDirectories: true)
            let made = try train(checkpoints)
            let ext = made.pathExtension.isEmpty ? "model" : made.pathExtension
            let final = folder.appendingPathComponent("model." + ext)
            try FileMoves.moveAtomically(made, to: final)
            try? FileManager.default.removeItem(at: checkpoints)
            return (final, true)
        }
    }
}
