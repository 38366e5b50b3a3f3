import CPrefetch
import Dispatch
import Foundation
import Synchronization

/// The engine's own worker threads: `size - 1` threads that stay alive between operations and wait
/// for the next one by spinning, then sleeping.
///
/// Why not `DispatchQueue.concurrentPerform`: it wakes a sleeping worker for every call, and on these
/// virtual machines a wake-up takes 30-50 µs (a 2 x 16 µs job took 46 µs, a 2 x 83 µs one 136 µs;
/// here 19 and 83). A training iteration at `fast`'s coarse sizes is hundreds of operations of
/// 20-500 µs each, so the wake-ups cost more than a second core gives: at 25 x 34, 1 thread was
/// faster than 2 (BENCHMARKS.md, "Spinning workers").
///
/// A worker spins for `spinNanoseconds` after its last job before it sleeps, so that the serial
/// stretches of a training step (small element-wise ops, the optimiser) do not put it to sleep,
/// and an idle process stops using the core within a millisecond.
///
/// Items are handed out from contiguous ranges, one per participant, and a participant that has
/// finished its own range takes the others' last items (`ItemRange`). Handing out one shared
/// "next item" instead gave neighbouring items (blocks of output tiles, element-wise pieces) to
/// different cores at the same moment, and the cache lines at their common edges moved between
/// the cores for every output channel: at 128 x 128 the output transform of a 2-thread training
/// step took 3-5x the core time it takes on one thread (BENCHMARKS.md, "Contiguous items").
///
/// One caller at a time: `run` returns false when another caller holds the workers (two trainings
/// in one daemon, or a job body that itself runs a parallel loop), and that caller falls back to
/// `concurrentPerform`. Every item writes its own outputs, so who runs it does not change results.
final class SpinningWorkers: @unchecked Sendable {
    /// Participants of a job: the caller and `size - 1` worker threads.
    let size: Int

    /// How long a worker polls for the next job before it sleeps.
    static let spinNanoseconds: UInt64 = 200_000

    /// Odd while a job is open, even between jobs; bumped to open a job (or to stop) and to close it.
    private let generation = Atomic<Int>(0)
    /// Each participant's range of the current job's items, on cache lines of its own.
    private let ranges: [ItemRange]
    /// Items of the current job that have finished.
    private let done = Atomic<Int>(0)
    /// Workers inside the current job: they may read `ranges` and `body` until they leave.
    private let inside = Atomic<Int>(0)
    /// Held by the caller whose job the workers run.
    private let busy = Atomic<Bool>(false)
    /// Workers sleeping on `wakeUp` (or about to).
    private let sleeping = Atomic<Int>(0)
    private let wakeUp = NSCondition()
    private let stopping = Atomic<Bool>(false)

    // The current job's body (its items are in `ranges`), written by the caller before it opens the
    // job (sequentially consistent) and read by workers that joined it while it was open.
    private var body: ((_ worker: Int, _ item: Int) -> Void)?

    init(size: Int) {
        self.size = max(1, size)
        ranges = (0..<self.size).map { _ in ItemRange() }
        for worker in 1..<self.size {
            let thread = Thread { [self] in serve(worker: worker) }
            thread.name = "singan-engine-\(worker)"
            thread.start()
        }
    }

    /// Runs `body(worker, item)` for every item in `0..<items` on the caller and the workers, and
    /// returns when all are done; false (running nothing) when another caller holds the workers.
    ///
    /// The caller waits for the items, not for the workers: a worker that has not woken yet (its
    /// core busy with another process) joins late and finds the job closed. Waiting for every
    /// worker to check in made each operation wait for a time slice of the other core whenever
    /// that core was shared: a `fast` training beside two busy processes took 3-4x as long as
    /// with `concurrentPerform` (BENCHMARKS.md, "Spinning workers").
    func run(_ items: Int, _ body: (_ worker: Int, _ item: Int) -> Void) -> Bool {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            return false
        }
        defer { busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { body in
            self.body = body
            for (k, range) in ranges.enumerated() {
                range.reset(items * k / size ..< items * (k + 1) / size)
            }
            done.store(0, ordering: .relaxed)
            publish()  // open
            take(worker: 0, body: body)
            waitUntil { done.load(ordering: .acquiring) >= items }
            // Close, then wait for the workers that joined: either a worker's `inside` increment
            // comes first and this waits for it, or it sees the job closed and touches nothing.
            generation.wrappingAdd(1, ordering: .sequentiallyConsistent)
            waitUntil { inside.load(ordering: .sequentiallyConsistent) == 0 }
            self.body = nil
        }
        return true
    }

    /// Polls `condition`, giving up the core every 256 polls: a worker still busy after that long
    /// may be waiting for this core (more threads than free cores).
    private func waitUntil(_ condition: () -> Bool) {
        var polls = 0
        while !condition() {
            spin_pause()
            polls += 1
            if polls % 256 == 0 { sched_yield() }
        }
    }

    /// Waits for the current job, then lets the workers exit (after `ComputeThreads.set` changes
    /// the thread count). Later `run` calls return false.
    func stop() {
        while !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            spin_pause()
        }
        stopping.store(true, ordering: .sequentiallyConsistent)
        publish()
    }

    /// Opens a job (bumps `generation` to an odd value) and wakes any worker that went to sleep.
    /// Sequentially consistent on both sides: either a worker about to sleep sees the new
    /// generation, or this sees it sleeping.
    private func publish() {
        generation.wrappingAdd(1, ordering: .sequentiallyConsistent)
        if sleeping.load(ordering: .sequentiallyConsistent) > 0 {
            wakeUp.lock()
            wakeUp.broadcast()
            wakeUp.unlock()
        }
    }

    /// Runs the items of `worker`'s own range from its front, then those left in the others'
    /// ranges from their backs, nearest range first, and counts them into `done`.
    private func take(worker: Int, body: (_ worker: Int, _ item: Int) -> Void) {
        var finished = 0
        while let item = ranges[worker].takeFront() {
            body(worker, item)
            finished += 1
        }
        for k in 1..<size {
            let other = ranges[(worker + k) % size]
            while let item = other.takeBack() {
                body(worker, item)
                finished += 1
            }
        }
        if finished > 0 { done.wrappingAdd(finished, ordering: .releasing) }
    }

    private func serve(worker: Int) {
        var seen = 0
        while true {
            seen = waitForJob(after: seen)
            if stopping.load(ordering: .acquiring) { return }
            inside.wrappingAdd(1, ordering: .sequentiallyConsistent)
            if generation.load(ordering: .sequentiallyConsistent) == seen {  // still open
                take(worker: worker, body: body!)
            }
            inside.wrappingSubtract(1, ordering: .releasing)
        }
    }

    /// Spins until a job other than `seen` is open (an odd `generation`), for up to
    /// `spinNanoseconds`, then sleeps.
    private func waitForJob(after seen: Int) -> Int {
        let start = DispatchTime.now().uptimeNanoseconds
        var polls = 0
        while true {
            let now = generation.load(ordering: .acquiring)
            if now != seen && now & 1 == 1 { return now }
            spin_pause()
            polls += 1
            if polls % 256 == 0 {
                if DispatchTime.now().uptimeNanoseconds - start > Self.spinNanoseconds { break }
                sched_yield()  // lets a caller that shares this core run (see `run`)
            }
        }
        wakeUp.lock()
        defer { wakeUp.unlock() }
        sleeping.wrappingAdd(1, ordering: .sequentiallyConsistent)
        defer { sleeping.wrappingSubtract(1, ordering: .sequentiallyConsistent) }
        while true {
            let now = generation.load(ordering: .sequentiallyConsistent)
            if now != seen && now & 1 == 1 { return now }
            wakeUp.wait()
        }
    }
}

/// A range of item numbers that its owner takes from the front and other participants from the
/// back: (front, end) packed into one word, so that both ends move with one compare-and-swap.
/// A class padded to more than two cache lines, so that no two ranges share one (or one pair that
/// the adjacent-line prefetcher fetches together).
private final class ItemRange: @unchecked Sendable {
    private let bounds = Atomic<UInt64>(0)
    private let padding: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int)
        = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    /// Sets the range for the next job; called only between jobs.
    func reset(_ items: Range<Int>) {
        bounds.store(UInt64(items.upperBound) << 32 | UInt64(items.lowerBound), ordering: .relaxed)
    }

    /// The first item left, or nil.
    func takeFront() -> Int? { take(fromBack: false) }

    /// The last item left, or nil.
    func takeBack() -> Int? { take(fromBack: true) }

    private func take(fromBack: Bool) -> Int? {
        var value = bounds.load(ordering: .relaxed)
        while true {
            let front = value & 0xffff_ffff, end = value >> 32
            if front >= end { return nil }
            let next = fromBack ? value - (1 << 32) : value + 1
            let (exchanged, current) = bounds.compareExchange(expected: value, desired: next, ordering: .relaxed)
            if exchanged { return Int(fromBack ? end - 1 : front) }
            value = current
        }
    }
}
