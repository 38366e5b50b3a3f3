import Foundation
import XCTest

/// The tests' own PostgreSQL server (`scripts/postgres.sh`, `PostgresTestServer`): it runs, on
/// loopback only, wants the password, and leaves nothing once its owner process is gone.
final class PostgresTestServerTests: XCTestCase {
    func testServerRunsOnLoopbackAndWantsThePassword() throws {
        let server = try PostgresTestServer.server()
        let database = try PostgresTestServer.makeDatabase()
        XCTAssertEqual(try PostgresTestServer.psql("SELECT current_user || ' ' || inet_server_addr() || ' ' || current_database()",
                                                   database: database),
                       "singan 127.0.0.1/32 \(database)")
        XCTAssertEqual(try PostgresTestServer.psql("SHOW listen_addresses"), "127.0.0.1")
        XCTAssertThrowsError(try PostgresTestServer.psql("SELECT 1", password: "wrong")) { error in
            XCTAssertTrue("\(error)".contains("password authentication failed for user \"singan\""), "\(error)")
        }
        XCTAssertEqual(ProcessInfo.processInfo.environment["PGPASSWORD"], server.password, "exported for spawned programs")
        XCTAssertTrue(server.directory.hasPrefix("/tmp/singan-pg."), server.directory)
    }

    func testClusterIsStoppedAndRemovedWhenItsOwnerExits() throws {
        let owner = Process()
        owner.executableURL = URL(fileURLWithPath: "/bin/sleep")
        owner.arguments = ["600"]
        try owner.run()
        defer { if owner.isRunning { owner.terminate() } }
        let server = try PostgresTestServer.start(owner: owner.processIdentifier)
        XCTAssertEqual(try PostgresTestServer.psql("SELECT 41 + 1", on: server), "42")
        XCTAssertTrue(FileManager.default.fileExists(atPath: server.directory))

        owner.terminate()
        owner.waitUntilExit()
        let end = Date().addingTimeInterval(30)
        while FileManager.default.fileExists(atPath: server.directory), Date() < end { Thread.sleep(forTimeInterval: 0.2) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: server.directory), "the folder is removed")
        XCTAssertThrowsError(try PostgresTestServer.psql("SELECT 1", on: server), "the server is stopped")
    }
}
