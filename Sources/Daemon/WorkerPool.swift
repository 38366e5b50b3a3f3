import Foundation

/// Threads taking job ids from a queue, so that at most `count` jobs run at once. A job that
/// blocks waiting for something other jobs do not need (the training slot) lends its thread
/// back (`lend`): a new thread takes the queue meanwhile, and the surplus thread retires when
/// a job ends while more than `count` threads could take work.
///
/// With a `claim` source (a fleet's shared journal) there is no queue: an idle thread claims the
/// next job itself, and asks again every `pollInterval` seconds while there is none (jobs that
/// other daemons accepted); `submit` only wakes a thread to claim at once.
/// `@unchecked`: every property is guarded by `condition`.
final class WorkerPool: @unchecked Sendable {
    private let condition = NSCondition()
    private let count: Int
    private let work: @Sendable (String) -> Void
    private let claim: (@Sendable () -> String?)?
    private let pollInterval: TimeInterval
    private var queue: [String] = []
    /// Submissions since an idle thread last claimed (claim mode only).
    private var wakes = 0
    private var queued = Set<String>()
    private var stopping = false
    private var threads: [Thread] = []
    /// Threads alive (`threads` keeps finished ones too), and how many of them are lent.
    private var live = 0
    private var lent = 0

    /// Starts `count` threads that call `work` for each submitted id, or for each id `claim`
    /// returns (a job it claimed) when there is a source.
    init(count: Int, claim: (@Sendable () -> String?)? = nil, pollInterval: TimeInterval = 0.5,
         work: @escaping @Sendable (String) -> Void) {
        self.count = max(1, count)
        self.work = work
        self.claim = claim
        self.pollInterval = pollInterval
        condition.lock()
        for _ in 0..<self.count { addThread() }
        condition.unlock()
    }

    /// Queues `id` unless it is already waiting; with a claim source, wakes a thread to claim.
    func submit(_ id: String) {
        condition.lock(); defer { condition.unlock() }
        if claim != nil {
            wakes += 1
            condition.signal()
            return
        }
        guard !stopping, queued.insert(id).inserted else { return }
        queue.append(id)
        condition.signal()
    }

    /// Queues `id` after `delay` seconds (used while a job waits for side files).
    func submit(_ id: String, after delay: Double) {
        DispatchQueue.global().asyncAfter(deadline: .now() + delay) { [weak self] in self?.submit(id) }
    }

    /// The calling job is about to block (waiting for the training slot): another thread takes
    /// the queue meanwhile. Call `reclaim` when it runs again.
    func lend() {
        condition.lock(); defer { condition.unlock() }
        lent += 1
        if !stopping && live - lent < count { addThread() }
    }

    /// The job that lent its thread runs again; a surplus thread retires after its current job.
    func reclaim() {
        condition.lock(); defer { condition.unlock() }
        lent -= 1
    }

    /// Takes no more work; returns once every thread finished its current job, or after
    /// `timeout` seconds with `false` when some thread is still busy (stuck in a read, say).
    @discardableResult
    func stop(timeout: TimeInterval = .infinity) -> Bool {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        let deadline = Date().addingTimeInterval(timeout)
        while (condition.withLock { threads.contains { !$0.isFinished } }) {
            if Date() >= deadline { return false }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return true
    }

    /// Under `condition`.
    private func addThread() {
        let thread = Thread { [unowned self] in
            while let id = self.next() { self.work(id) }
        }
        thread.name = "worker-\(threads.count)"
        threads.append(thread)
        live += 1
        thread.start()
    }

    private func next() -> String? {
        condition.lock(); defer { condition.unlock() }
        while true {
            if stopping || live - lent > count {
                live -= 1
                return nil
            }
            if let claim {
                wakes = 0
                condition.unlock()
                let claimed = claim()
                condition.lock()
                if let claimed { return claimed }
                if wakes == 0 { _ = condition.wait(until: Date().addingTimeInterval(pollInterval)) }
                continue
            }
            if !queue.isEmpty { break }
            condition.wait()
        }
        let id = queue.removeFirst()
        queued.remove(id)
        return id
    }
}
