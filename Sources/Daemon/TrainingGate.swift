import Foundation
import Plugins

/// Limits how many training runs happen at once (one by default: training uses every core).
/// `@unchecked`: its one property is a `DispatchSemaphore`, safe to share between threads.
public final class TrainingGate: @unchecked Sendable {
    private let semaphore: DispatchSemaphore

    public init(slots: Int = 1) {
        semaphore = DispatchSemaphore(value: max(1, slots))
    }

    /// Runs `body` holding a slot; waiting gives up (throwing `TaskCancelled`) when `cancellation` fires.
    public func run<T>(cancellation: CancellationToken, _ body: () throws -> T) throws -> T {
        while semaphore.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
            try cancellation.check()
        }
        defer { semaphore.signal() }
        return try body()
    }
}
