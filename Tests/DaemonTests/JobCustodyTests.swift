@testable import Daemon
import Foundation
import Logging
import XCTest

/// The crash protocol of `JobCustody`, driven directly (no watcher, no worker): a crash is
/// simulated after each step of it, then a fresh custody on the same root and journal (a new
/// connection) recovers, as the next start of the daemon would. On SQLite here, and on
/// PostgreSQL in `JobCustodyOnPostgresTests`.
class JobCustodyTests: XCTestCase {
    struct Crash: Error {}

    var root: URL!
    var pipeline: Pipeline!
    var location: JournalLocation!
    /// The journal backend the tests run on; a subclass runs them on PostgreSQL.
    var backend: JournalBackend { .sqlite }

    override func setUpWithError() throws {
        location = try backend.makeLocation()
        root = FileManager.default.temporaryDirectory.appendingPathComponent("custody-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("inbox/p"), withIntermediateDirectories: true)
        pipeline = try PipelineParser(registry: TestPlugins.registry).parse(yaml: """
            max_attempts: 2
            steps:
              - task: resize
                input: "{stem}_mask.png"
            """, file: root.appendingPathComponent("pipelines/p.yaml"))
    }

    override func tearDown() { try? FileManager.default.removeItem(at: root) }

    /// A custody on the root's journal (a new connection, as after a restart) that throws `Crash`
    /// after `step`; `crashed` records whether it got there.
    func custody(crashingAfter step: JobCustody.Step? = nil, crashed: Flag = Flag()) throws -> JobCustody {
        JobCustody(root: root, journal: try location.open(root: root),
                   logger: Logger(label: "test")) { reached in
            if reached == step {
                crashed.set()
                throw Crash()
            }
        }
    }

    func files(_ relative: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(relative).path)) ?? []).sorted()
    }

    /// Job folders left under processing/.
    var processing: [String] { files("processing/p") }

    /// Drops `x.png` and its side file `x_mask.png`, accepts the input and gathers the side file
    /// into the job's folder (steps 1 and 2); returns the job id.
    func acceptWithSideFile(_ custody: JobCustody) throws -> String {
        for name in ["x.png", "x_mask.png"] { try Data(name.utf8).write(to: root.appendingPathComponent("inbox/p/\(name)")) }
        let id = try XCTUnwrap(try custody.accept(root.appendingPathComponent("inbox/p/x.png"), pipeline: "p"))
        let job = try XCTUnwrap(custody.journal.job(id))
        XCTAssertEqual(rename(root.appendingPathComponent("inbox/p/x_mask.png").path,
                              root.appendingPathComponent("\(job.directory)/x_mask.png").path), 0)
        return id
    }

    func testCrashAtEachStepOfFinishingIsCompletedByRecovery() throws {
        let finishing = JobCustody.Step.allCases.filter { $0 != .movedIntoProcessing }
        for outcome in [JobState.done, .failed] {
            for step in finishing {
                tearDown()  // a fresh root for each crash
                try setUpWithError()
                let crashed = Flag()
                let dying = try custody(crashingAfter: step, crashed: crashed)
                let id = try acceptWithSideFile(dying)
                let running = try XCTUnwrap(dying.journal.start(id))
                let outputs = outcome == .done ? [root.appendingPathComponent("outbox/p/x_0.png")] : []
                try? dying.finish(running, pipeline: pipeline, outcome: outcome, outputs: outputs,
                                  error: outcome == .failed ? "boom" : nil, since: Date())
                let context = "\(outcome) after \(step)"
                XCTAssertEqual(crashed.isSet, outcome == .failed || step != .reportWritten, context)

                let restarted = try custody()
                for _ in 0..<2 {  // recovery is idempotent
                    try restarted.recover(pipelines: ["p": pipeline])
                    let job = try XCTUnwrap(restarted.journal.job(id))
                    XCTAssertEqual(job.state, outcome, context)
                    XCTAssertEqual(job.attempts, 1, context)
                    XCTAssertEqual(job.outputs, outcome == .done ? ["outbox/p/x_0.png"] : [], context)
                    XCTAssertEqual(job.error, outcome == .failed ? "boom" : nil, context)
                    XCTAssertEqual(processing, [], context)
                    XCTAssertEqual(files("inbox/p"), [], context)
                    if outcome == .done {
                        XCTAssertEqual(files("done/p"), ["x.png", "x_mask.png"], context)
                        XCTAssertEqual(files("failed/p"), [], context)
                    } else {
                        XCTAssertEqual(files("failed/p"), ["x.png", "x.png.error.txt", "x_mask.png"], context)
                        let report = try String(contentsOf: root.appendingPathComponent("failed/p/x.png.error.txt"), encoding: .utf8)
                        XCTAssertTrue(report.contains("error: boom"), report)
                        XCTAssertEqual(files("done/p"), [], context)
                    }
                }
            }
        }
    }

    /// The error a full disk gives, thrown from the step hook the first time `step` is reached.
    struct DiskFull: Error, CustomStringConvertible { var description: String { String(cString: strerror(ENOSPC)) } }

    func custody(failingOnceAfter step: JobCustody.Step, failed: Flag) throws -> JobCustody {
        JobCustody(root: root, journal: try location.open(root: root),
                   logger: Logger(label: "test")) { reached in
            if reached == step, !failed.isSet {
                failed.set()
                throw DiskFull()
            }
        }
    }

    func testAFailedStepOfFinishingIsCarriedOnByCallingFinishAgain() throws {
        // What the daemon does on a full disk: the same `finish` again after a back-off, on the
        // same custody, no restart.
        let finishing = JobCustody.Step.allCases.filter { $0 != .movedIntoProcessing }
        for outcome in [JobState.done, .failed] {
            for step in finishing where outcome == .failed || step != .reportWritten {
                tearDown()
                try setUpWithError()
                let failed = Flag()
                let custody = try custody(failingOnceAfter: step, failed: failed)
                let id = try acceptWithSideFile(custody)
                let running = try XCTUnwrap(custody.journal.start(id))
                let finish = {
                    try custody.finish(running, pipeline: self.pipeline, outcome: outcome, outputs: [],
                                       error: outcome == .failed ? "boom" : nil, since: Date())
                }
                let context = "\(outcome) failing after \(step)"
                XCTAssertThrowsError(try finish(), context)
                XCTAssertTrue(failed.isSet, context)
                if step != .completed {
                    XCTAssertNotEqual(try custody.journal.job(id)?.state, outcome, "not finished yet: \(context)")
                }
                try finish()
                try finish()  // a finished job is left alone
                let job = try XCTUnwrap(custody.journal.job(id))
                XCTAssertEqual(job.state, outcome, context)
                XCTAssertEqual(processing, [], context)
                XCTAssertEqual(files(outcome == .done ? "done/p" : "failed/p"),
                               outcome == .done ? ["x.png", "x_mask.png"] : ["x.png", "x.png.error.txt", "x_mask.png"], context)
                XCTAssertEqual(files(outcome == .done ? "failed/p" : "done/p"), [], context)
            }
        }
    }

    func testAFinishWaitingForRoomNeverOverwritesAFileThatTookItsDestination() throws {
        let failed = Flag()
        let custody = try custody(failingOnceAfter: .prepared, failed: failed)
        let id = try acceptWithSideFile(custody)
        let running = try XCTUnwrap(custody.journal.start(id))
        XCTAssertThrowsError(try custody.finish(running, pipeline: pipeline, outcome: .done, outputs: [], error: nil, since: Date()))
        XCTAssertEqual(try custody.journal.job(id)?.destination, "done/p/x.png")
        // Meanwhile another job's x.png reached done/p.
        try FileManager.default.createDirectory(at: root.appendingPathComponent("done/p"), withIntermediateDirectories: true)
        try Data("other".utf8).write(to: root.appendingPathComponent("done/p/x.png"))
        try custody.finish(running, pipeline: pipeline, outcome: .done, outputs: [], error: nil, since: Date())
        let tagged = "x-\(id.prefix(8)).png"
        XCTAssertEqual(files("done/p"), [tagged, "x.png", "x_mask.png"].sorted())
        XCTAssertEqual(try Data(contentsOf: root.appendingPathComponent("done/p/x.png")), Data("other".utf8))
        XCTAssertEqual(try Data(contentsOf: root.appendingPathComponent("done/p/\(tagged)")), Data("x.png".utf8))
        XCTAssertEqual(try custody.journal.job(id)?.destination, "done/p/\(tagged)")
    }

    func testAFailedAcceptLeavesTheFileInTheInboxOrInItsJobFolder() throws {
        let source = root.appendingPathComponent("inbox/p/x.png")
        try Data("x".utf8).write(to: source)
        // The job folder cannot be made: the file stays in the inbox.
        try FileManager.default.createDirectory(at: root.appendingPathComponent("processing"), withIntermediateDirectories: true)
        try Data().write(to: root.appendingPathComponent("processing/p"))
        let failed = Flag()
        let custody = try custody(failingOnceAfter: .movedIntoProcessing, failed: failed)
        XCTAssertThrowsError(try custody.accept(source, pipeline: "p")) { error in
            guard case .stillInInbox = error as? JobCustody.AcceptError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(files("inbox/p"), ["x.png"])
        try FileManager.default.removeItem(at: root.appendingPathComponent("processing/p"))

        // The journal takes no write: the file rests in its job folder until the retry journals it.
        var waiting = ""
        XCTAssertThrowsError(try custody.accept(source, pipeline: "p")) { error in
            guard case .notJournaled(let id, _) = error as? JobCustody.AcceptError else { return XCTFail("\(error)") }
            waiting = id
        }
        XCTAssertEqual(files("inbox/p"), [])
        XCTAssertEqual(processing, [waiting])
        XCTAssertEqual(try custody.journal.jobs(), [])
        let report = try StatusReport.render(root: root, journal: location)
        XCTAssertTrue(report.contains("  waiting  p/x.png  in processing/p/\(waiting): accepted, not yet in the journal (the daemon retries the write)"), report)
        XCTAssertTrue(report.contains(" free on the root's file system"), report)
        try custody.journalAccepted(id: waiting, pipeline: "p", input: "x.png")
        try custody.journalAccepted(id: waiting, pipeline: "p", input: "x.png")
        let job = try XCTUnwrap(custody.journal.job(waiting))
        XCTAssertEqual([job.state.rawValue, job.input, job.directory], ["queued", "x.png", "processing/p/\(waiting)"])
        XCTAssertEqual(try custody.journal.jobs().count, 1)
        XCTAssertFalse(try StatusReport.render(root: root, journal: location).contains("not yet in the journal"))
    }

    func testCrashBetweenAcceptingAndJournalingIsAdopted() throws {
        let crashed = Flag()
        let dying = try custody(crashingAfter: .movedIntoProcessing, crashed: crashed)
        try Data("x".utf8).write(to: root.appendingPathComponent("inbox/p/x.png"))
        XCTAssertThrowsError(try dying.accept(root.appendingPathComponent("inbox/p/x.png"), pipeline: "p"))
        XCTAssertTrue(crashed.isSet)
        XCTAssertEqual(try dying.journal.jobs(), [])
        XCTAssertEqual(processing.count, 1)

        let restarted = try custody()
        try restarted.recover(pipelines: ["p": pipeline])
        try restarted.recover(pipelines: ["p": pipeline])
        let job = try XCTUnwrap(restarted.journal.jobs().first)
        XCTAssertEqual(try restarted.journal.jobs().count, 1)
        XCTAssertEqual([job.state.rawValue, job.input, job.pipeline, job.directory],
                       ["queued", "x.png", "p", "processing/p/\(processing[0])"])
        XCTAssertEqual(job.id, processing[0])
    }

    func testCrashWhileRunningRetriesUntilMaxAttemptsThenFails() throws {
        let id = try acceptWithSideFile(try custody())
        // The first run dies (no outcome journaled): queued again, the attempt counted.
        _ = try XCTUnwrap(try custody().journal.start(id))
        try custody().recover(pipelines: ["p": pipeline])
        var job = try XCTUnwrap(try custody().journal.job(id))
        XCTAssertEqual(job.state, .queued)
        XCTAssertEqual(job.attempts, 1)
        XCTAssertEqual(job.note, "interrupted; retrying (attempt 2 of 2)")
        XCTAssertEqual(processing.count, 1)

        // The second dies too: max_attempts = 2 is used up, the job fails with its side file.
        XCTAssertEqual(try custody().journal.start(id)?.attempts, 2)
        try custody().recover(pipelines: ["p": pipeline])
        job = try XCTUnwrap(try custody().journal.job(id))
        XCTAssertEqual(job.state, .failed)
        XCTAssertEqual(job.error, "interrupted 2 times (the process died during the job); giving up after max_attempts = 2")
        XCTAssertEqual(files("failed/p"), ["x.png", "x.png.error.txt", "x_mask.png"])
        XCTAssertEqual(processing, [])
    }

    func testAQueuedJobWhoseFailureWasDecidedIsFinishedByRecovery() throws {
        // A side file that never arrived fails a job that never ran; the crash comes right after
        // the decision is journaled.
        let dying = try custody(crashingAfter: .prepared)
        try Data("x".utf8).write(to: root.appendingPathComponent("inbox/p/x.png"))
        let id = try XCTUnwrap(try dying.accept(root.appendingPathComponent("inbox/p/x.png"), pipeline: "p"))
        try? dying.finish(try XCTUnwrap(dying.journal.job(id)), pipeline: pipeline, outcome: .failed, outputs: [],
                          error: "side file x_mask.png did not arrive within 1 s", since: Date())
        XCTAssertEqual(try dying.journal.job(id)?.state, .queued)

        try custody().recover(pipelines: ["p": pipeline])
        let job = try XCTUnwrap(try custody().journal.job(id))
        XCTAssertEqual(job.state, .failed)
        XCTAssertEqual(job.attempts, 0)
        XCTAssertEqual(files("failed/p"), ["x.png", "x.png.error.txt"])
        XCTAssertEqual(processing, [])
    }

    func testAVanishedInputFailsItsJobAndEmptyOrFinishedFoldersAreRemoved() throws {
        let custody = try custody()
        let id = try acceptWithSideFile(custody)
        let directory = try XCTUnwrap(custody.journal.job(id)).directory
        try FileManager.default.removeItem(at: root.appendingPathComponent("\(directory)/x.png"))
        let finished = "processing/p/finished"
        try custody.journal.insert(id: "finished", pipeline: "p", input: "f.png", directory: finished)
        try custody.journal.fail("finished", error: "earlier")
        try FileManager.default.createDirectory(at: root.appendingPathComponent(finished), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("processing/p/empty"), withIntermediateDirectories: true)

        try custody.recover(pipelines: ["p": pipeline])
        let job = try XCTUnwrap(custody.journal.job(id))
        XCTAssertEqual(job.state, .failed)
        XCTAssertEqual(job.error, "the input vanished from \(directory)")
        XCTAssertEqual(processing, [])
        XCTAssertEqual(try custody.journal.jobs().count, 2, "the empty folder is no job")
    }
}

#if PostgreSQL
/// `JobCustodyTests` on the test run's PostgreSQL server: the same protocol over the same `Journal`
/// calls. Each test is named again: test discovery on Linux does not list inherited ones.
final class JobCustodyOnPostgresTests: JobCustodyTests {
    override var backend: JournalBackend { .postgres }

    override func testCrashAtEachStepOfFinishingIsCompletedByRecovery() throws { try super.testCrashAtEachStepOfFinishingIsCompletedByRecovery() }
    override func testAFailedStepOfFinishingIsCarriedOnByCallingFinishAgain() throws { try super.testAFailedStepOfFinishingIsCarriedOnByCallingFinishAgain() }
    override func testAFinishWaitingForRoomNeverOverwritesAFileThatTookItsDestination() throws { try super.testAFinishWaitingForRoomNeverOverwritesAFileThatTookItsDestination() }
    override func testAFailedAcceptLeavesTheFileInTheInboxOrInItsJobFolder() throws { try super.testAFailedAcceptLeavesTheFileInTheInboxOrInItsJobFolder() }
    override func testCrashBetweenAcceptingAndJournalingIsAdopted() throws { try super.testCrashBetweenAcceptingAndJournalingIsAdopted() }
    override func testCrashWhileRunningRetriesUntilMaxAttemptsThenFails() throws { try super.testCrashWhileRunningRetriesUntilMaxAttemptsThenFails() }
    override func testAQueuedJobWhoseFailureWasDecidedIsFinishedByRecovery() throws { try super.testAQueuedJobWhoseFailureWasDecidedIsFinishedByRecovery() }
    override func testAVanishedInputFailsItsJobAndEmptyOrFinishedFoldersAreRemoved() throws { try super.testAVanishedInputFailsItsJobAndEmptyOrFinishedFoldersAreRemoved() }
}
#endif

/// A flag set from the custody's step hook (which may run on any thread).
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
