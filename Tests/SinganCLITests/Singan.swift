import Foundation
import SanitizerSlowdown
import XCTest

/// Runs the real `singan` executable, the one built with the tests.
enum Singan {
    /// What a finished run left: its exit status and both output streams.
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The `singan` built with the tests (same folder as the test bundle), else the package's build.
    static var binary: URL {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("singan"),
            Bundle.main.bundleURL.appendingPathComponent("singan"),
            here.appendingPathComponent("../../.build/release/singan").standardizedFileURL,
            here.appendingPathComponent("../../.build/debug/singan").standardizedFileURL,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    /// The training image of these tests: a 48x40 crop of balloons.png.
    static var image: String {
        Bundle.module.path(forResource: "balloons_48x40", ofType: "png", inDirectory: "Resources")!
    }

    /// Options of a tiny run: 2 scales (24x29 and 27x32), 8 channels.
    static func tinyTraining(iterations: Int, seed: Int = 11) -> [String] {
        ["--preset", "quick", "--max-size", "32", "--min-size", "24", "--channels", "8", "--max-channels", "8",
         "--iters", "\(iterations)", "--seed", "\(seed)"]
    }

    /// Runs `singan ARGS` in `folder` to completion.
    @discardableResult
    static func run(_ arguments: [String], in folder: URL) throws -> Result {
        let process = SinganProcess(arguments, in: folder)
        try process.start()
        process.waitUntilExit()
        return Result(status: process.status, stdout: process.stdout, stderr: process.stderr)
    }
}

/// A running `singan` whose standard output and error are collected as they come, so that a
/// test can act on a progress line while the process still runs.
final class SinganProcess {
    private let process = Process()
    private let lock = NSLock()
    private var out = Data(), err = Data()
    private let readers = DispatchGroup()

    init(_ arguments: [String], in folder: URL) {
        process.executableURL = Singan.binary
        process.arguments = arguments
        process.currentDirectoryURL = folder
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    func start() throws {
        let outPipe = Pipe(), errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        collect(outPipe.fileHandleForReading) { self.out.append($0) }
        collect(errPipe.fileHandleForReading) { self.err.append($0) }
    }

    /// Reads `handle` on a thread of its own until end of file.
    private func collect(_ handle: FileHandle, into append: @escaping (Data) -> Void) {
        readers.enter()
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.lock()
                append(chunk)
                lock.unlock()
            }
            readers.leave()
        }
    }

    var stdout: String { lock.lock(); defer { lock.unlock() }; return String(decoding: out, as: UTF8.self) }
    var stderr: String { lock.lock(); defer { lock.unlock() }; return String(decoding: err, as: UTF8.self) }

    /// Waits until `condition(stderr so far)` holds; fails after `timeout` seconds or when the
    /// process ends first.
    func waitForStderr(_ what: String, timeout: Double, _ condition: (String) -> Bool) throws {
        let end = Date().addingTimeInterval(SanitizerSlowdown.seconds(timeout))
        while !condition(stderr) {
            guard process.isRunning else {
                throw ProcessFailure("singan ended (status \(process.terminationStatus)) before \(what); stderr:\n\(stderr)")
            }
            guard Date() < end else { throw ProcessFailure("timed out waiting for \(what); stderr:\n\(stderr)") }
            Thread.sleep(forTimeInterval: 0.005)
        }
    }

    /// Sends `signal` to the process.
    func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to end and for its output to be read completely.
    func waitUntilExit() {
        process.waitUntilExit()
        readers.wait()
    }

    var status: Int32 { process.terminationStatus }
    var terminationReason: Process.TerminationReason { process.terminationReason }
}

struct ProcessFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A test case with a fresh temporary folder per test, removed afterwards.
class FolderTestCase: XCTestCase {
    private(set) var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("singan-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }
}
