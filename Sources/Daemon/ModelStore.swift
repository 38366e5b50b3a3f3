import Foundation
import Plugins

/// Trained models on disk, keyed by the SHA-256 of the training image's bytes and the training
/// parameters, so a pipeline never trains the same image with the same settings twice.
///
/// Layout: `DIR/<key>/model.<ext>` once trained, and `DIR/<key>/checkpoints/` while training
/// (kept across restarts, so interrupted training resumes).
/// In a fleet (`locks`), a model is trained by one daemon at a time: see `ModelLocks`.
/// `@unchecked`: its properties are constants (a URL and the thread-safe `TrainingGate`), but
/// `locks`, which is set once, before any run.
public final class ModelStore: @unchecked Sendable {
    public let directory: URL
    public let gate: TrainingGate
    /// The fleet's model locks; nil for a daemon of its own.
    var locks: (any ModelLocks)?

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
    /// and returns the model file it wrote) while holding a training slot, and in a fleet the
    /// model's lock. `waiting` is called once if another daemon trains it meanwhile.
    public func model(trainingImage image: URL, parameters: ParameterValues, cancellation: CancellationToken,
                      waiting: () -> Void = {}, train: (_ checkpoints: URL) throws -> URL) throws -> (url: URL, trained: Bool) {
        let key = try key(trainingImage: image, parameters: parameters)
        if let hit = cached(key) { return (hit, false) }
        guard let locks else { return try trainHoldingSlot(key, cancellation: cancellation, train: train) }
        if let hit = try lock(key, in: locks, cancellation: cancellation, waiting: waiting) { return (hit, false) }
        // A release that fails (the journal out of reach) leaves the lock to expire after the lease.
        defer { try? locks.unlockModel(key) }
        return try trainHoldingSlot(key, cancellation: cancellation, train: train)
    }

    /// Takes the fleet's lock of model `key`. While another daemon holds it, waits (lending the
    /// worker, as for the training slot) until its model is cached, returned, or the lock is free
    /// (released, or expired with its daemon). A journal that cannot be reached is asked again:
    /// a long outage cancels the job with its lease.
    private func lock(_ key: String, in locks: any ModelLocks, cancellation: CancellationToken,
                      waiting: () -> Void) throws -> URL? {
        var lent = false
        defer { if lent { gate.onWait?(false) } }
        while true {
            if let hit = cached(key) { return hit }
            if (try? locks.lockModel(key)) == true { return nil }
            if !lent {
                lent = true
                gate.onWait?(true)
                waiting()
            }
            try cancellation.sleep(seconds: 0.5)
        }
    }

    /// Trains model `key` (unless cached meanwhile) holding a training slot.
    private func trainHoldingSlot(_ key: String, cancellation: CancellationToken,
                                  train: (_ checkpoints: URL) throws -> URL) throws -> (url: URL, trained: Bool) {
        try gate.run(cancellation: cancellation) {
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
