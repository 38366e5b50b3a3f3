import Dispatch
import Foundation

/// SIGINT and SIGTERM turned from the default exit into a request to stop, for every command and
/// the daemon: the first signal is recorded (`received`) and passed to the handler, on a
/// dispatch queue. Training then checkpoints, the daemon cancels its jobs, and the caller exits
/// the way it documents (`128 + signal` for commands).
/// `@unchecked`: `first` is only touched under `lock`; `sources` is set once in `init`.
public final class StopSignals: @unchecked Sendable {
    private let lock = NSLock()
    private var first: Int32?
    private var sources: [DispatchSourceSignal] = []

    /// Starts catching SIGINT and SIGTERM; `handler` runs for each signal received. Returns once
    /// both are caught (or after a second): libdispatch registers a source asynchronously, and a
    /// signal that came between `SIG_IGN` and the registration would be lost (a daemon under load
    /// missed the SIGTERM its test sent right after `daemon.started`).
    public init(_ handler: @escaping @Sendable (Int32) -> Void = { _ in }) {
        let registered = DispatchGroup()
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in
                if let self {
                    self.lock.lock()
                    if self.first == nil { self.first = number }
                    self.lock.unlock()
                }
                handler(number)
            }
            registered.enter()
            source.setRegistrationHandler { registered.leave() }
            source.resume()
            return source
        }
        _ = registered.wait(timeout: .now() + 1)
    }

    /// The first signal received, if any.
    public var received: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return first
    }

    /// "SIGINT" or "SIGTERM".
    public static func name(_ number: Int32) -> String { number == SIGTERM ? "SIGTERM" : "SIGINT" }

    /// Stops catching (the signals stay ignored).
    public func cancel() { sources.forEach { $0.cancel() } }
}
