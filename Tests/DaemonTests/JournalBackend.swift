import Daemon
import Foundation

/// The journal backends the backend-independent tests run against.
enum JournalBackend: String, CaseIterable {
    case sqlite, postgres

    /// A fresh, empty journal location for one test.
    func makeLocation() throws -> JournalLocation {
        switch self {
        case .sqlite: .sqlite
        case .postgres: .postgres(try PostgresTestServer.makeLocation())
        }
    }
}

extension PostgresTestServer {
    /// A new, empty database on the test server, as a journal location.
    static func makeLocation() throws -> PostgresLocation {
        let server = try server()
        return PostgresLocation(user: server.user, host: server.host, port: server.port, database: try makeDatabase())
    }
}
