import Dispatch
import Foundation
import Synchronization

/// The engine's one thread count.
///
/// Each operation uses exactly one level of threading: the convolution kernels and the large
/// element-wise ops split their work over `count` workers of their own, and the engine never calls
/// BLAS, so no OpenBLAS threads spin beside them (the engine does not link OpenBLAS; `singan bench
/// --conv` sizes OpenBLAS's pool itself for its sgemm yardstick).
///
/// Determinism: every work item writes its own outputs, and sums over work items are added in a
/// fixed order, so a seeded run gives the same bits with any thread count.
public enum ComputeThreads {
    nonisolated(unsafe) private static var current = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Number of threads an operation may use (at least 1).
    public static var count: Int { current }

    /// Sets the engine's thread count to `n` (clamped to at least 1).
    public static func set(_ n: Int) {
        current = max(1, n)
    }

    /// The engine's worker threads, made at the first parallel loop and again when `count` changes.
    private static let workers = Mutex<SpinningWorkers?>(nil)

    /// `count`'s workers, or nil with one thread.
    private static func currentWorkers() -> SpinningWorkers? {
        let size = count
        guard size > 1 else { return nil }
        return workers.withLock { pool in
            if let pool, pool.size == size { return pool }
            pool?.stop()
            let made = SpinningWorkers(size: size)
            pool = made
            return made
        }
    }

    /// Runs `body(worker, item)` for every item in `0..<items` on up to `count` workers. On the
    /// spinning workers each starts on a contiguous range of items and then takes the others'
    /// leftovers one at a time, so a worker slowed by another process does not hold the rest back
    /// (`SpinningWorkers`); the `concurrentPerform` fallback hands every item out one at a time.
    static func parallelFor(_ items: Int, _ body: (_ worker: Int, _ item: Int) -> Void) {
        parallelFor(items, threads: count, body)
    }

    /// `parallelFor` on up to `threads` workers, for callers with a thread count of their own
    /// (the patch tier's `PatchSettings.threads`). With `threads == count`, on the engine's
    /// spinning workers when no other caller holds them, else on `concurrentPerform`.
    public static func parallelFor(_ items: Int, threads: Int, _ body: (_ worker: Int, _ item: Int) -> Void) {
        let workers = min(max(1, threads), items)
        if workers <= 1 {
            for i in 0..<items { body(0, i) }
            return
        }
        if threads == count, let pool = currentWorkers(), pool.run(items, body) { return }
        let next = WorkCounter()
        withoutActuallyEscaping(body) { body in
            let shared = SharedBody(call: body)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                while let i = next.take(below: items) { shared.call(worker, i) }
            }
        }
    }

    /// Element-wise work below this many values stays on the calling thread: waking a worker costs
    /// more than the copy or the add it would share.
    static let minParallelValues = 1 << 16

    /// Runs `body(range)` over `0..<count` split into pieces of `grain` values, on the workers
    /// when there are at least `minValues` values (by default `minParallelValues`; lower for work
    /// that costs more per value, such as a libm call). Each piece writes its own outputs.
    static func forEachPiece(_ count: Int, grain: Int = 1 << 15, minValues: Int = minParallelValues,
                             _ body: (Range<Int>) -> Void) {
        guard count >= minValues, Self.count > 1 else {
            if count > 0 { body(0..<count) }
            return
        }
        parallelFor((count + grain - 1) / grain) { _, piece in
            body(piece * grain..<min(count, (piece + 1) * grain))
        }
    }

    /// Runs `body(item)` for every item in `0..<items` (channels, planes) on the workers when the
    /// items together hold at least `minParallelValues` values, else on the calling thread.
    static func forEachItem(_ items: Int, valuesPerItem: Int, _ body: (Int) -> Void) {
        if items * valuesPerItem >= minParallelValues {
            parallelFor(items) { _, item in body(item) }
        } else {
            for item in 0..<items { body(item) }
        }
    }
}

/// A shared "next item" counter for `parallelFor`.
/// A work item body called by several workers at once.
/// `@unchecked`: every item writes its own outputs (see `ComputeThreads`), so concurrent calls are safe.
private struct SharedBody: @unchecked Sendable {
    let call: (_ worker: Int, _ item: Int) -> Void
}

/// `@unchecked`: `next` is only touched under `lock`.
private final class WorkCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0

    func take(below limit: Int) -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard next < limit else { return nil }
        next += 1
        return next - 1
    }
}
