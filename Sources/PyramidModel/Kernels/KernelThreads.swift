import COpenBLAS
import Dispatch
import Foundation

/// The one thread count every convolution kernel uses.
///
/// Each operation uses exactly one level of threading: the convolution kernels split their work
/// over `count` workers of their own and never call BLAS, so no OpenBLAS threads spin beside them.
/// `set` sizes OpenBLAS's pool too, for the engine's other BLAS calls.
public enum KernelThreads {
    nonisolated(unsafe) private static var current = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Number of threads a kernel may use (at least 1).
    public static var count: Int { current }

    /// Sets the kernels' thread count and OpenBLAS's to `n` (clamped to at least 1).
    public static func set(_ n: Int) {
        current = max(1, n)
        openblas_set_num_threads(Int32(current))
    }

    /// Runs `body(worker, item)` for every item in `0..<items` on up to `count` workers; items are
    /// handed out one at a time so a worker slowed by another process does not hold the rest back.
    static func parallelFor(_ items: Int, _ body: (_ worker: Int, _ item: Int) -> Void) {
        let workers = min(count, items)
        if workers <= 1 {
            for i in 0..<items { body(0, i) }
            return
        }
        let next = WorkCounter()
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            while let i = next.take(below: items) { body(worker, i) }
        }
    }
}

/// A shared "next item" counter for `parallelFor`.
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

/// Reusable Float scratch buffers, so the kernels do not allocate (and page-fault) on every call.
/// A buffer is lent to one caller at a time, which keeps concurrent kernel calls safe.
final class ScratchPool: @unchecked Sendable {
    static let shared = ScratchPool()
    private let lock = NSLock()
    private var free: [ScratchBuffer] = []

    /// Lends a buffer of at least `count` floats for the duration of `body`.
    func with<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        let buffer = take(count)
        defer { give(buffer) }
        return body(buffer.base)
    }

    private func take(_ count: Int) -> ScratchBuffer {
        lock.lock()
        // The smallest free buffer that fits, else the largest one (to be grown).
        let fitting = free.indices.filter { free[$0].capacity >= count }
        let pick = fitting.min { free[$0].capacity < free[$1].capacity }
            ?? free.indices.max { free[$0].capacity < free[$1].capacity }
        let buffer = pick.map { free.remove(at: $0) } ?? ScratchBuffer()
        lock.unlock()
        buffer.reserve(count)
        return buffer
    }

    private func give(_ buffer: ScratchBuffer) {
        lock.lock(); defer { lock.unlock() }
        free.append(buffer)
    }
}

/// One growable, 64-byte aligned Float allocation.
final class ScratchBuffer {
    private(set) var base = UnsafeMutablePointer<Float>.allocate(capacity: 0)
    private(set) var capacity = 0

    func reserve(_ count: Int) {
        guard count > capacity else { return }
        base.deallocate()
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
        base = raw.bindMemory(to: Float.self, capacity: count)
        capacity = count
    }

    deinit { base.deallocate() }
}
