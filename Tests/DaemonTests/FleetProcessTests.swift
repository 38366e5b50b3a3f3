#if PostgreSQL  // the fleet's tests need the PostgreSQL journal (a package trait, on by default)
import Daemon
import Foundation
import XCTest

/// Several real daemon processes on one root and one PostgreSQL database (a fleet on one
/// machine): each input is processed once in all, and a daemon killed mid-job loses nothing.
final class FleetProcessTests: XCTestCase {
    /// `count` daemons' harnesses on one new root holding `pipelines`, each with its own log.
    private func fleet(_ count: Int, pipelines: [String: String]) throws -> [DaemonHarness] {
        let first = try DaemonHarness(pipelines: pipelines)
        let others = try (1..<count).map { i in
            try DaemonHarness(pipelines: [:], root: first.root, log: first.root.appendingPathComponent("daemon\(i).log"))
        }
        return [first] + others
    }

    /// Drops `names` into `inbox/half/` the way other programs do: written beside, renamed in.
    private func drop(_ names: [String], into d: DaemonHarness) throws {
        for name in names { try DaemonHarness.image(d.url("staging/\(name)")) }
        for name in names { XCTAssertEqual(rename(d.url("staging/\(name)").path, d.url("inbox/half/\(name)").path), 0) }
    }

    /// Three daemons, a burst of 30 inputs: each input lands in `done/` once, every output is
    /// written, the journal has 30 jobs done at their first attempt, and the work was shared.
    func testThreeDaemonsProcessABurstExactlyOnce() throws {
        let url = try PostgresTestServer.makeLocation().description
        let daemons = try fleet(3, pipelines: ["half": DaemonProcessTests.halve])
        let d = daemons[0]
        // 200 ms a task run: long enough that one daemon cannot take the whole burst alone.
        for daemon in daemons { try daemon.start(stepDelayMs: 200, arguments: ["--journal", url, "--lease", "3"]) }
        let names = (0..<30).map { String(format: "in%02d.png", $0) }
        try drop(names, into: d)
        try d.waitFor("30 inputs done", timeout: 120) { d.files("done/half").count >= 30 && d.processing.isEmpty }
        XCTAssertEqual(d.files("done/half"), names, "each input once, under its own name")
        XCTAssertEqual(d.files("outbox/half"), names.map { $0.replacingOccurrences(of: ".png", with: "_half.png") })
        XCTAssertEqual(d.files("failed/half"), [])
        XCTAssertEqual(d.files("inbox/half"), [])

        let journal = try PostgresJournal(location: try PostgresLocation(url: url))
        let done = try journal.jobs(in: [.done])
        XCTAssertEqual(try journal.counts(), [.done: 30])
        XCTAssertEqual(done.map(\.input).sorted(), names)
        XCTAssertEqual(done.filter { $0.attempts != 1 }.map(\.input), [], "no job ran twice")
        let workedOn = daemons.map { $0.logText.components(separatedBy: "job.started").count - 1 }
        XCTAssertEqual(workedOn.reduce(0, +), 30, "30 runs in all: \(workedOn)")
        XCTAssertGreaterThanOrEqual(workedOn.filter { $0 > 0 }.count, 2, "the daemons shared the burst: \(workedOn)")
        let started = d.logText.split(separator: "\n").filter { $0.contains("job.started") }
        XCTAssertTrue(started.allSatisfy { $0.contains("host=\(WorkerIdentity.hostName())") }, "each line names the machine: \(started)")

        let status = try DaemonHarness.execute(["status", "--root", d.root.path, "--journal", url])
        XCTAssertEqual(status.status, 0, status.errors)
        XCTAssertTrue(status.output.contains("daemons: 3 sharing the journal"), status.output)
        for daemon in daemons {
            let pid = try XCTUnwrap(daemon.process?.processIdentifier)
            XCTAssertTrue(status.output.contains(" pid \(pid)  heartbeat "), status.output)
        }
        XCTAssertTrue(status.output.contains("jobs: 0 queued, 0 running, 30 done, 0 failed"), status.output)
        for daemon in daemons { XCTAssertEqual(daemon.signal(SIGTERM), 0) }
        let after = try DaemonHarness.execute(["status", "--root", d.root.path, "--journal", url])
        XCTAssertTrue(after.output.contains("daemons: 0 sharing the journal"), "a clean stop removes the heartbeat: \(after.output)")
    }

    /// A daemon killed (-9) while it runs two jobs: once their lease (2 s) expired the other
    /// daemon takes them over, counting the attempt, and finishes them; every input ends once.
    func testAKilledDaemonsJobsAreTakenOverOnceTheirLeaseExpires() throws {
        let url = try PostgresTestServer.makeLocation().description
        let daemons = try fleet(2, pipelines: ["half": DaemonProcessTests.halve])
        let (doomed, survivor) = (daemons[0], daemons[1])
        let journal = try PostgresJournal(location: try PostgresLocation(url: url))
        // The doomed daemon's task runs wait a minute, so both its workers are surely mid-job when it dies.
        try doomed.start(stepDelayMs: 60_000, arguments: ["--journal", url, "--lease", "2"])
        try drop(["a.png", "b.png", "c.png"], into: doomed)
        try doomed.waitFor("two jobs running, one queued") {
            (try? journal.counts()) == [.running: 2, .queued: 1]
        }
        let status = try DaemonHarness.execute(["status", "--root", doomed.root.path, "--journal", url]).output
        let runBy = "  on \(WorkerIdentity.hostName()) pid \(try XCTUnwrap(doomed.process?.processIdentifier))\n"
        XCTAssertEqual(status.components(separatedBy: runBy).count - 1, 2, "each running job names its daemon: \(status)")
        try survivor.start(arguments: ["--journal", url, "--lease", "2"])
        // Done once journaled too: the input reaches done/ just before the journal marks its job done.
        try survivor.waitFor("the queued job done by the survivor") {
            survivor.files("done/half").count == 1 && (try? journal.counts()[.done]) == 1
        }
        XCTAssertEqual(try journal.counts()[.running], 2, "the doomed daemon's jobs are not touched while its leases hold")
        _ = doomed.signal(SIGKILL)
        let killed = Date()
        try survivor.waitFor("every job done", timeout: 60) { survivor.files("done/half").count == 3 && survivor.processing.isEmpty }
        XCTAssertGreaterThan(Date().timeIntervalSince(killed), 1.5, "taken over only once the lease expired")
        XCTAssertEqual(survivor.files("done/half"), ["a.png", "b.png", "c.png"])
        XCTAssertEqual(survivor.files("outbox/half"), ["a_half.png", "b_half.png", "c_half.png"])
        XCTAssertEqual(try journal.counts(), [.done: 3])
        XCTAssertEqual(try journal.jobs(in: [.done]).map(\.attempts).sorted(), [1, 2, 2], "the killed runs count")
        XCTAssertEqual(survivor.logText.components(separatedBy: "job.taken_over").count - 1, 2, survivor.logText)
        XCTAssertEqual(survivor.signal(SIGTERM), 0)
    }

    /// The database goes down under two running daemons for twice the lease, then comes back:
    /// the daemons log it and retry (running jobs are cancelled and taken over afterwards, jobs
    /// that ended meanwhile are journaled late, files dropped meanwhile are journaled late), and
    /// every input dropped before, during and after ends in `done/` once.
    func testTheDatabaseRestartingUnderTheFleetLosesNothing() throws {
        let location = try PostgresTestServer.makeLocation()
        let url = location.description
        let daemons = try fleet(2, pipelines: ["half": DaemonProcessTests.halve])
        let d = daemons[0]
        let journal = try PostgresJournal(location: location)
        for daemon in daemons { try daemon.start(stepDelayMs: 1500, arguments: ["--journal", url, "--lease", "2"]) }
        let before = (0..<6).map { "before\($0).png" }, during = (0..<3).map { "during\($0).png" }
        try drop(before, into: d)
        try d.waitFor("jobs running") { ((try? journal.counts()[.running]) ?? 0) >= 2 }
        try PostgresTestServer.setRunning(false)
        var down = true
        defer { if down { try? PostgresTestServer.setRunning(true) } }
        try drop(during, into: d)
        Thread.sleep(forTimeInterval: 4)
        try PostgresTestServer.setRunning(true)
        down = false
        try drop(["after.png"], into: d)

        let names = (before + during + ["after.png"]).sorted()
        try d.waitFor("every input done", timeout: 120) { d.files("done/half").count >= names.count && d.processing.isEmpty }
        XCTAssertEqual(d.files("done/half"), names, "each input once")
        XCTAssertEqual(d.files("outbox/half"), names.map { $0.replacingOccurrences(of: ".png", with: "_half.png") })
        XCTAssertEqual(d.files("failed/half"), [])
        try d.waitFor("the journal agrees") { (try? journal.counts()) == [.done: names.count] }
        let logs = daemons.map(\.logText).joined()
        XCTAssertTrue(logs.contains("lease.renew_failed"), "the outage is logged:\n\(logs)")
        XCTAssertTrue(logs.contains("journal.claim_recovered"), "and its end:\n\(logs)")
        for daemon in daemons { XCTAssertEqual(daemon.signal(SIGTERM), 0) }
    }

    /// A file that no inotify event announces (as one another machine writes on a network file
    /// system; here a hard link, which is only an `IN_CREATE`) is taken by the daemon that
    /// rescans its inboxes, and not by the one that does not.
    func testARescanTakesFilesNoEventAnnounced() throws {
        let url = try PostgresTestServer.makeLocation().description
        let daemons = try fleet(2, pipelines: ["half": DaemonProcessTests.halve])
        let (watching, rescanning) = (daemons[0], daemons[1])
        try watching.start(arguments: ["--journal", url])
        try rescanning.start(arguments: ["--journal", url, "--rescan", "0.5"])
        try DaemonHarness.image(watching.url("staging/linked.png"))
        XCTAssertEqual(link(watching.url("staging/linked.png").path, watching.url("inbox/half/linked.png").path), 0)
        try watching.waitFor("the linked file done") { watching.files("done/half") == ["linked.png"] && watching.processing.isEmpty }
        XCTAssertTrue(rescanning.logText.contains("job.accepted"), rescanning.logText)
        XCTAssertFalse(watching.logText.contains("job.accepted"), "no event announced it: \(watching.logText)")
        XCTAssertEqual(watching.files("outbox/half"), ["linked_half.png"])
        for daemon in daemons { XCTAssertEqual(daemon.signal(SIGTERM), 0) }
    }

    /// examples/balloons.png, copied into the fleet's inbox of pipeline `s` as each of `names`.
    private func dropBalloons(_ names: [String], into d: DaemonHarness) throws {
        let image = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../examples/balloons.png")
        try FileManager.default.createDirectory(at: d.url("staging"), withIntermediateDirectories: true)
        for name in names { try FileManager.default.copyItem(at: image, to: d.url("staging/\(name)")) }
        for name in names { XCTAssertEqual(rename(d.url("staging/\(name)").path, d.url("inbox/s/\(name)").path), 0) }
    }

    /// A daemon killed (-9) while it trains: the other takes the job and the model's lock over
    /// once their leases expired, and its training resumes from the checkpoint the dead one wrote
    /// at the end of a scale in the shared cache. How the test knows: the survivor's
    /// `train.resumed` line names a position past scale 1 (training anew would not log it at all),
    /// on a scale boundary (where the dead daemon checkpointed), and only the survivor trained.
    func testAKilledTrainingResumesOnAnotherDaemonFromItsCheckpoint() throws {
        let location = try PostgresTestServer.makeLocation()
        let url = location.description
        let daemons = try fleet(2, pipelines: ["s": DaemonSinGANTrainingTests.pipeline])
        let (doomed, survivor) = (daemons[0], daemons[1])
        let journal = try PostgresJournal(location: location)
        try doomed.start(arguments: ["--journal", url, "--lease", "2"])
        try dropBalloons(["balloons.png"], into: doomed)
        try doomed.waitFor("training at scale 2 or 3 of 4", timeout: 90) {
            let note = (try? journal.jobs(in: [.running]).first?.note) ?? nil
            return note?.hasPrefix("train: scale 2/4") == true || note?.hasPrefix("train: scale 3/4") == true
        }
        try survivor.start(arguments: ["--journal", url, "--lease", "2"])
        _ = doomed.signal(SIGKILL)
        try survivor.waitFor("the job done", timeout: 120) { survivor.files("done/s") == ["balloons.png"] && survivor.processing.isEmpty }
        let resumed = try XCTUnwrap(DaemonSinGANTrainingTests.position("train.resumed", in: survivor.logText),
                                    "training restarted instead of resuming:\n\(survivor.logText)")
        XCTAssertGreaterThanOrEqual(resumed, 25, "resumed past scale 1")
        XCTAssertEqual(resumed % 25, 0, "at the end of a scale, where the dead daemon checkpointed")
        XCTAssertTrue(survivor.logText.contains("job.taken_over"), survivor.logText)
        XCTAssertTrue(survivor.logText.contains("model.trained"), survivor.logText)
        XCTAssertFalse(doomed.logText.contains("model.trained"), "the doomed daemon never finished training")
        XCTAssertEqual(survivor.files("outbox/s"), ["balloons_0.png"])
        XCTAssertEqual(try journal.jobs(in: [.done]).map(\.attempts), [2], "the killed run counts")
        XCTAssertEqual(survivor.signal(SIGTERM), 0)
    }

    /// The same image dropped twice at once, each copy taken by another daemon (one worker each):
    /// one daemon trains it while the other waits, then uses the model from the shared cache.
    func testTheSameImageIsTrainedOnceAcrossTheFleet() throws {
        let url = try PostgresTestServer.makeLocation().description
        let daemons = try fleet(2, pipelines: ["s": DaemonSinGANTrainingTests.pipeline])
        for daemon in daemons { try daemon.start(workers: 1, arguments: ["--journal", url, "--lease", "3"]) }
        try dropBalloons(["first.png", "second.png"], into: daemons[0])
        try daemons[0].waitFor("both done", timeout: 120) {
            daemons[0].files("done/s") == ["first.png", "second.png"] && daemons[0].processing.isEmpty
        }
        let logs = daemons.map(\.logText)
        XCTAssertEqual(logs.map { $0.components(separatedBy: "job.started").count - 1 }, [1, 1], "one job each:\n\(logs.joined())")
        XCTAssertEqual(logs.joined().components(separatedBy: "model.trained").count - 1, 1, "trained once:\n\(logs.joined())")
        XCTAssertEqual(logs.joined().components(separatedBy: "model.cached").count - 1, 1, "used once from the cache")
        XCTAssertEqual(logs.joined().components(separatedBy: "model.waiting").count - 1, 1, "the other daemon waited")
        XCTAssertEqual(daemons[0].files("cache/models").count, 1)
        XCTAssertEqual(daemons[0].files("outbox/s"), ["first_0.png", "second_0.png"])
        for daemon in daemons { XCTAssertEqual(daemon.signal(SIGTERM), 0) }
    }
}
#endif
