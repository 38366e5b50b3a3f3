import Foundation

/// A flag that a job's owner sets to ask running work to stop early. Thread-safe.
/// `@unchecked`: the flag is guarded by `lock`.
public final class CancellationToken: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false

    public init() {}

    public var isCancelled: Bool {
        lock.lock(); defer { lock.unlock() }
        return cancelled
    }

    public func cancel() {
        lock.lock(); cancelled = true; lock.unlock()
    }

    /// Throws `TaskCancelled` once cancelled; call at safe points of long work.
    public func check() throws {
        if isCancelled { throw TaskCancelled() }
    }

    /// Sleeps up to `seconds`, waking early (and throwing) when cancelled.
    public func sleep(seconds: Double) throws {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            try check()
            Thread.sleep(forTimeInterval: min(0.02, max(0, end.timeIntervalSinceNow)))
        }
        try check()
    }
}
