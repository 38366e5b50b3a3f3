import Foundation
import SanitizerSlowdown
import Vips
import XCTest

/// Runs the real `singan` executable on a temporary root, for the daemon's process tests.
final class DaemonHarness {
    let root: URL
    let log: URL
    private(set) var process: Process?

    /// A fresh root (under the temporary folder unless `root` names one) holding `pipelines`.
    /// The log is `daemon.log` in the root, or `log` (a test that fills the root's disk keeps
    /// its log elsewhere).
    init(pipelines: [String: String], root: URL? = nil, log: URL? = nil) throws {
        self.root = root ?? FileManager.default.temporaryDirectory.appendingPathComponent("daemon-\(UUID().uuidString)")
        self.log = log ?? self.root.appendingPathComponent("daemon.log")
        try FileManager.default.createDirectory(at: self.root.appendingPathComponent("pipelines"), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: self.log.path, contents: nil)
        for (name, yaml) in pipelines { try writePipeline(name, yaml) }
    }

    deinit {
        if let process, process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(at: root)
        try? FileManager.default.removeItem(at: log)
    }

    /// The `singan` built with the tests (same folder as the test bundle), else the package's build.
    static var binary: URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("singan"),
            Bundle.main.bundleURL.appendingPathComponent("singan"),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/debug/singan").standardizedFileURL,
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/release/singan").standardizedFileURL,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    /// Runs `singan ARGS` to completion; returns (exit status, standard output).
    static func run(_ arguments: [String]) throws -> (Int32, String) {
        let result = try execute(arguments)
        return (result.status, result.output)
    }

    /// What a finished `singan` process left.
    struct Result {
        let status: Int32
        let output: String
        let errors: String
    }

    /// Runs `singan ARGS` to completion, capturing standard output and standard error.
    static func execute(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        // Standard error goes to a file, so neither stream can fill up and block the process.
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("singan-stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                      errors: (try? String(contentsOf: errors, encoding: .utf8)) ?? "")
    }

    func writePipeline(_ name: String, _ yaml: String) throws {
        // Written beside, then renamed in: the daemon sees a complete file.
        let temporary = root.appendingPathComponent(".\(name).yaml.tmp")
        try yaml.write(to: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary.path, root.appendingPathComponent("pipelines/\(name).yaml").path) == 0 else {
            throw CocoaError(.fileWriteUnknown)
        }
    }

    /// Starts `singan daemon --root ROOT ARGUMENTS`; `stepDelayMs` slows every task run (test hook).
    func start(stepDelayMs: Int = 0, workers: Int = 2, arguments: [String] = []) throws {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = ["daemon", "--root", root.path, "--workers", "\(workers)", "--step-delay-ms", "\(stepDelayMs)"] + arguments
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardError = handle
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        self.process = process
        try waitFor("daemon.started", timeout: 20) { self.logText.components(separatedBy: "daemon.started").count - 1 > self.starts }
        starts += 1
    }

    private var starts = 0

    func signal(_ number: Int32) -> Int32 {
        guard let process else { return -1 }
        kill(process.processIdentifier, number)
        process.waitUntilExit()
        self.process = nil
        return process.terminationStatus
    }

    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    /// File names in a folder of the root; hidden ones (e.g. temporaries of atomic writes) only if asked.
    func files(_ relative: String, hidden: Bool = false) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: url(relative).path)) ?? []).filter { hidden || !$0.hasPrefix(".") }.sorted()
    }

    /// Job folders still under processing/.
    var processing: [String] {
        files("processing").flatMap { p in files("processing/\(p)").map { "\(p)/\($0)" } }
    }

    func waitFor(_ what: String, timeout: Double = 30, _ condition: () -> Bool) throws {
        try waitUntil(what, upTo: timeout, every: 0.05, log: logText, condition)
    }

    /// Writes a small PNG (valid image) to `url`.
    static func image(_ url: URL, size: Int = 16, value: Float = 0.2) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let pixels = (0..<(3 * size * size)).map { Float($0 % 7) / 7 * value }
        try VipsImage.fromPlanarFloats(pixels, width: size, height: size, channels: 3).save(to: url.path)
    }
}

/// Polls `condition` until it holds; after `seconds` (stretched under sanitizers) throws a
/// `TimeoutError` naming `what`, with `log` (the daemon's log, when the test has one).
func waitUntil(_ what: String, upTo seconds: Double, every interval: Double = 0.02, log: @autoclosure () -> String = "",
               _ condition: () -> Bool) throws {
    guard SanitizerSlowdown.wait(upTo: seconds, every: interval, until: condition) else {
        throw TimeoutError(what: what, log: log())
    }
}

struct TimeoutError: Error, CustomStringConvertible {
    let what: String
    let log: String
    var description: String { "timed out waiting for \(what); daemon log:\n\(log)" }
}
