/// A PostgreSQL journal call that failed, with the server's own message when it sent one
/// (postgres-nio's errors print only a generic text, to keep queries out of logs).
public struct PostgresJournalError: Error, CustomStringConvertible {
    public let description: String

    init(location: PostgresLocation, message: String) {
        description = "PostgreSQL journal \(location): \(message)"
    }
}
