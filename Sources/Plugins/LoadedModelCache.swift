import Foundation

/// A bounded, least-recently-used cache of models loaded from files, shared by all jobs of a
/// process so that a pipeline does not reload the same model file for every dropped image.
///
/// Keys are the model file's path plus its modification time, so a rewritten file is reloaded.
/// `@unchecked`: the entries and their order are guarded by `lock`; models are only read once loaded.
public final class LoadedModelCache: @unchecked Sendable {
    private let lock = NSLock()
    private let capacity: Int
    private var entries: [String: AnyObject] = [:]
    private var order: [String] = []

    /// - Parameter capacity: how many loaded models to keep (at least 1).
    public init(capacity: Int = 4) {
        self.capacity = max(1, capacity)
    }

    /// The model at `url`, loaded by `load` on a miss. Loading happens outside the lock, so two
    /// jobs may load the same file at once; the later one's result is kept.
    public func model<Model: AnyObject>(at url: URL, as type: Model.Type = Model.self,
                                        load: (URL) throws -> Model) throws -> Model {
        let key = Self.key(url)
        lock.lock()
        if let hit = entries[key] as? Model {
            touch(key)
            lock.unlock()
            return hit
        }
        lock.unlock()
        let loaded = try load(url)
        lock.lock(); defer { lock.unlock() }
        entries[key] = loaded
        touch(key)
        while order.count > capacity {
            entries[order.removeFirst()] = nil
        }
        return loaded
    }

    /// The number of models held.
    public var count: Int {
        lock.lock(); defer { lock.unlock() }
        return entries.count
    }

    private func touch(_ key: String) {
        order.removeAll { $0 == key }
        order.append(key)
    }

    private static func key(_ url: URL) -> String {
        let path = url.standardizedFileURL.path
        let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)
            .map { $0?.timeIntervalSince1970 ?? 0 } ?? 0
        return "\(path)@\(modified)"
    }
}
