import Foundation

/// A fixed number of threads taking job ids from a queue, so at most `count` jobs run at once.
/// `@unchecked`: the queue, the set and `stopping` are guarded by `condition`; `threads` is filled in `init`.
final class WorkerPool: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [String] = []
    private var queued = Set<String>()
    private var stopping = false
    private var threads: [Thread] = []

    /// Starts `count` threads that call `work` for each submitted id.
    init(count: Int, work: @escaping @Sendable (String) -> Void) {
        for n in 0..<max(1, count) {
            let thread = Thread { [unowned self] in
                while let id = self.next() { work(id) }
            }
            thread.name = "worker-\(n)"
            threads.append(thread)
        }
        threads.forEach { $0.start() }
    }

    /// Queues `id` unless it is already waiting.
    func submit(_ id: String) {
        condition.lock(); defer { condition.unlock() }
        guard !stopping, queued.insert(id).inserted else { return }
        queue.append(id)
        condition.signal()
    }

    /// Queues `id` after `delay` seconds (used while a job waits for side files).
    func submit(_ id: String, after delay: Double) {
        DispatchQueue.global().asyncAfter(deadline: .now() + delay) { [weak self] in self?.submit(id) }
    }

    /// Takes no more work; returns once every thread finished its current job.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        while threads.contains(where: { !$0.isFinished }) { Thread.sleep(forTimeInterval: 0.01) }
    }

    private func next() -> String? {
        condition.lock(); defer { condition.unlock() }
        while queue.isEmpty && !stopping { condition.wait() }
        if stopping { return nil }
        let id = queue.removeFirst()
        queued.remove(id)
        return id
    }
}
