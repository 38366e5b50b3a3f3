import Foundation

/// The throw-away PostgreSQL server of this test run: `scripts/postgres.sh` starts it at first use
/// (a temporary cluster on a loopback port, run by the `postgres` user when the tests run as root)
/// and it is stopped and removed when the test process exits, or dies. A test that needs it fails,
/// never skips, when it cannot start: CI installs the server (`scripts/install-deps.sh`).
enum PostgresTestServer {
    struct Server {
        /// The cluster's folder (data, socket, logs), removed with it.
        let directory: String
        /// The server's programs (psql among them).
        let bin: String
        let host: String
        let port: Int
        let user: String
        let password: String
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../scripts/postgres.sh").standardizedFileURL

    private static let started = Result<Server, any Error> { try start(owner: getpid()) }

    /// The server, started on first use; throws why it could not start. Its password is exported
    /// as `PGPASSWORD`, which the programs the tests spawn read.
    static func server() throws -> Server {
        let server = try started.get()
        setenv("PGPASSWORD", server.password, 1)
        return server
    }

    /// A new, empty database on the server (one per test, so tests share nothing); its name.
    static func makeDatabase() throws -> String {
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try psql("CREATE DATABASE \(name)")
        return name
    }

    /// Takes the server down (fast shutdown: its clients are disconnected) or brings it back up,
    /// its data and port kept.
    static func setRunning(_ running: Bool) throws {
        let command = running ? "up" : "down"
        let result = try run(URL(fileURLWithPath: "/bin/bash"), [script.path, command, try server().directory])
        guard result.status == 0 else {
            throw Failure(description: "postgres.sh \(command) exited \(result.status): \(result.errors)")
        }
    }

    /// Runs `sql` with psql in `database` as the server's superuser (`password` overrides the
    /// right one); returns the unaligned output, or throws with psql's message.
    @discardableResult
    static func psql(_ sql: String, database: String = "postgres", password: String? = nil, on given: Server? = nil) throws -> String {
        let server = try given ?? self.server()
        let result = try run(URL(fileURLWithPath: server.bin).appendingPathComponent("psql"),
                             ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", server.host, "-p", "\(server.port)",
                              "-U", server.user, "-d", database, "-c", sql],
                             environment: ["PGPASSWORD": password ?? server.password, "PGCONNECT_TIMEOUT": "10"])
        guard result.status == 0 else { throw Failure(description: "psql: \(result.errors)") }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `scripts/postgres.sh start OWNER`: a new cluster that lives until `owner` exits.
    static func start(owner: pid_t) throws -> Server {
        let result = try run(URL(fileURLWithPath: "/bin/bash"), [script.path, "start", "\(owner)"])
        guard result.status == 0 else {
            throw Failure(description: "the test PostgreSQL server did not start (\(script.path) exited \(result.status)): "
                          + result.errors)
        }
        var values: [String: String] = [:]
        for line in result.output.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { values[parts[0]] = parts[1] }
        }
        guard let directory = values["PGDIR"], let bin = values["PGBIN"], let host = values["PGHOST"],
              let port = values["PGPORT"].flatMap(Int.init), let user = values["PGUSER"], let password = values["PGPASSWORD"] else {
            throw Failure(description: "postgres.sh printed no server: \(result.output) \(result.errors)")
        }
        if owner == getpid() {
            clusterDirectory = directory
            atexit { PostgresTestServer.stopAtExit() }
        }
        return Server(directory: directory, bin: bin, host: host, port: port, user: user, password: password)
    }

    private nonisolated(unsafe) static var clusterDirectory: String?

    /// Stops and removes this process's cluster when it exits normally (else the script's watcher
    /// does, within a second of the exit).
    private static func stopAtExit() {
        guard let directory = clusterDirectory else { return }
        _ = try? run(URL(fileURLWithPath: "/bin/bash"), [script.path, "stop", directory])
    }

    /// Runs a program to completion; standard output and error are read from files, so neither
    /// can fill a pipe and block it (the script's watcher keeps no copy of them).
    static func run(_ program: URL, _ arguments: [String], environment: [String: String] = [:])
        throws -> (status: Int32, output: String, errors: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pg-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("out"), errors = folder.appendingPathComponent("err")
        for file in [output, errors] { _ = FileManager.default.createFile(atPath: file.path, contents: nil) }
        let process = Process()
        process.executableURL = program
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOf: output, encoding: .utf8)) ?? "",
                (try? String(contentsOf: errors, encoding: .utf8)) ?? "")
    }
}
