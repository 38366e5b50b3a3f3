import Daemon
import Foundation

/// The journal backends the backend-independent tests run against.
/// PostgreSQL only in builds with the `PostgreSQL` package trait (the default).
enum JournalBackend: String, CaseIterable {
    case sqlite
    #if PostgreSQL
    case postgres
    #endif

    /// A fresh, empty journal location for one test.
    func makeLocation() throws -> JournalLocation {
        switch self {
        case .sqlite: return .sqlite
        #if PostgreSQL
        case .postgres: return .postgres(try PostgresTestServer.makeLocation())
        #endif
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
