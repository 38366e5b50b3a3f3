import Foundation
import Plugins

/// Limits how many training runs happen at once (one by default: training uses every core).
/// `@unchecked`: its one property is a `DispatchSemaphore`, safe to share between threads.
/// `@unchecked`: the semaphore is safe to share between threads; `onWait` is set once, before
/// any run.
public final class TrainingGate: @unchecked Sendable {
    private let semaphore: DispatchSemaphore
    /// Called (on the waiting thread) with `true` before a run waits for a slot and with
    /// `false` once it has one or gave up: the daemon lends the worker meanwhile, so that jobs
    /// that do not train keep running while training jobs queue for the slot.
    var onWait: (@Sendable (Bool) -> Void)?

    public init(slots: Int = 1) {
        semaphore = DispatchSemaphore(value: max(1, slots))
    }

    /// Runs `body` holding a slot; waiting gives up (throwing `TaskCancelled`) when `cancellation` fires.
    public func run<T>(cancellation: CancellationToken, _ body: () throws -> T) throws -> T {
        if semaphore.wait(timeout: .now()) == .timedOut {
            onWait?(true)
            defer { onWait?(false) }
            while semaphore.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
                try cancellation.check()
            }
        }
        defer { semaphore.signal() }
        return try body()
    }
}
