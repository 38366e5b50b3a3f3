@testable import Engine
import Foundation
import Synchronization
import XCTest

final class SpinningWorkersTests: XCTestCase {
    /// Every item of every job runs exactly once, for item counts below, at and above the size.
    func testEveryItemRunsOnce() {
        let pool = SpinningWorkers(size: 3)
        defer { pool.stop() }
        for job in 0..<500 {
            let items = job % 37
            let hits = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(items, 1))
            defer { hits.deallocate() }
            hits.initialize(repeating: 0)
            XCTAssertTrue(pool.run(items) { _, item in hits[item] += 1 })
            XCTAssertEqual(Array(hits.prefix(items)), Array(repeating: 1, count: items), "job \(job)")
        }
    }

    /// Each participant runs its own contiguous range from the front, then steals from the back of
    /// the other's: with two participants, who ran which item changes at most three times along
    /// the items (a shared "next item" counter alternates between them with every item). Jobs run
    /// until the worker has taken part in 20 of them (it may join late on a loaded machine).
    func testParticipantsRunContiguousRanges() {
        let pool = SpinningWorkers(size: 2)
        defer { pool.stop() }
        let items = 400
        let runner = UnsafeMutableBufferPointer<Int>.allocate(capacity: items)
        defer { runner.deallocate() }
        var shared = 0
        for _ in 0..<2000 where shared < 20 {
            runner.initialize(repeating: -1)
            XCTAssertTrue(pool.run(items) { worker, item in
                runner[item] = worker
                let start = DispatchTime.now().uptimeNanoseconds
                while DispatchTime.now().uptimeNanoseconds - start < 2_000 {}  // 2 µs of work
            })
            XCTAssertFalse(runner.contains(-1))
            let switches = zip(runner.dropFirst(), runner).filter { $0 != $1 }.count
            XCTAssertLessThanOrEqual(switches, 3, "runner changes \(switches) times")
            if Set(runner).count == 2 { shared += 1 }
        }
        XCTAssertEqual(shared, 20, "the worker took part in only \(shared) of 2000 jobs of 0.8 ms")
    }

    /// Jobs so short that the caller usually runs every item before a worker looks: the workers
    /// then join closed jobs, or the next job, late. Every item still runs exactly once (a late
    /// worker taking items of a closed job would run one twice, or call a released closure).
    func testLateWorkersNeverRunAClosedJob() {
        let pool = SpinningWorkers(size: 3)
        defer { pool.stop() }
        let jobs = 20_000
        let hits = UnsafeMutableBufferPointer<Int>.allocate(capacity: 3 * jobs)
        defer { hits.deallocate() }
        hits.initialize(repeating: 0)
        for job in 0..<jobs {
            let items = 1 + job % 3
            XCTAssertTrue(pool.run(items) { _, item in hits[3 * job + item] += 1 })
        }
        for job in 0..<jobs {
            let items = 1 + job % 3
            let got = Array(hits[(3 * job)..<(3 * job + 3)])
            if got != (0..<3).map({ $0 < items ? 1 : 0 }) { return XCTFail("job \(job): \(got)") }
        }
    }

    /// A worker that slept (no job for longer than the spin time) wakes for the next job: item 0
    /// waits until item 1 has run, so the job only finishes if a second thread took item 1.
    func testWorkersWakeAfterSleeping() {
        let pool = SpinningWorkers(size: 2)
        defer { pool.stop() }
        for _ in 0..<3 {
            Thread.sleep(forTimeInterval: 5 * Double(SpinningWorkers.spinNanoseconds) / 1e9)
            let second = Atomic<Bool>(false)
            let waited = Atomic<Bool>(true)
            XCTAssertTrue(pool.run(2) { _, item in
                if item == 1 { second.store(true, ordering: .releasing); return }
                let deadline = Date().addingTimeInterval(10)
                while !second.load(ordering: .acquiring) {
                    if Date() > deadline { waited.store(false, ordering: .relaxed); return }
                }
            })
            XCTAssertTrue(waited.load(ordering: .relaxed), "no worker took the second item within 10 s")
        }
    }

    /// A job that runs a parallel loop of its own, and a stopped pool, are refused (their callers
    /// fall back to `concurrentPerform`), and `ComputeThreads.parallelFor` still runs every item.
    func testBusyAndStoppedWorkersRefuseJobs() {
        let pool = SpinningWorkers(size: 2)
        let nested = Atomic<Int>(0)
        XCTAssertTrue(pool.run(1) { _, _ in
            if !pool.run(1, { _, _ in }) { nested.wrappingAdd(1, ordering: .relaxed) }
        })
        XCTAssertEqual(nested.load(ordering: .relaxed), 1)
        pool.stop()
        XCTAssertFalse(pool.run(4) { _, _ in XCTFail("a stopped pool ran an item") })

        let threads = ComputeThreads.count
        defer { ComputeThreads.set(threads) }
        ComputeThreads.set(2)
        let total = Atomic<Int>(0)
        ComputeThreads.parallelFor(8) { _, _ in
            ComputeThreads.parallelFor(8) { _, item in total.wrappingAdd(item, ordering: .relaxed) }
        }
        XCTAssertEqual(total.load(ordering: .relaxed), 8 * 28)
    }
}
