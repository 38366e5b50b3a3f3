import Foundation

/// Reusable Float scratch buffers, so the kernels do not allocate (and page-fault) on every call.
/// A buffer is lent to one caller at a time, which keeps concurrent kernel calls safe.
/// `@unchecked`: the free list is guarded by `lock`, and a lent buffer belongs to one caller.
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
