import ArgumentParser
import Daemon
import Foundation

/// `singan status --root DIR`: the daemon's pipelines and its queued, running, done and failed jobs.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show queued, running (with progress), done and failed jobs of a daemon root.")

    @Option(help: "The daemon's root folder.")
    var root: String

    @Option(help: "The daemon's journal when it is not ROOT/journal.sqlite: postgres://USER@HOST:PORT/DB.")
    var journal: String?

    @Option(help: "How many recent done and failed jobs to list.")
    var recent: Int = 10

    func run() throws {
        do {
            print(try StatusReport.render(root: URL(fileURLWithPath: root), journal: JournalLocation(argument: journal),
                                          recent: recent))
        } catch where error is StatusError || error is PostgresJournalError || error is JournalLocationError {
            FileHandle.standardError.write(Data("singan status: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
