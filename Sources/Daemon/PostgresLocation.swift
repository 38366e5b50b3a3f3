import Foundation

/// Where a PostgreSQL journal lives: `postgres://USER@HOST:PORT/DB` (port 5432 and database USER
/// when left out, as libpq does). The password is never part of it: it comes from `PGPASSWORD`,
/// else from the password file (`PGPASSFILE`, else `~/.pgpass`, in libpq's format), so that it
/// shows neither in `ps` nor in logs.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var host: String
    public var port: Int
    public var database: String

    public init(user: String, host: String, port: Int = 5432, database: String) {
        self.user = user
        self.host = host
        self.port = port
        self.database = database
    }

    /// Parses `postgres://USER@HOST[:PORT][/DB]` (or `postgresql://`).
    public init(url text: String) throws {
        func bad(_ why: String) -> JournalLocationError {
            JournalLocationError(message: "bad PostgreSQL URL '\(Self.withoutPassword(text))': \(why) (expected postgres://USER@HOST:PORT/DB)")
        }
        // First, whatever else is wrong: a password is refused and never repeated.
        guard Self.withoutPassword(text) == text else {
            throw JournalLocationError(message: "the PostgreSQL URL must not hold a password (it would show in `ps`): "
                                       + "set PGPASSWORD or put it in ~/.pgpass (or the file PGPASSFILE names)")
        }
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(),
              scheme == "postgres" || scheme == "postgresql" else { throw bad("not a postgres:// URL") }
        guard let user = url.user?.removingPercentEncoding, !user.isEmpty else { throw bad("no user") }
        guard let host = url.host, !host.isEmpty else { throw bad("no host") }
        guard url.query == nil, url.fragment == nil else { throw bad("parameters are not supported") }
        let path = String(url.path.drop { $0 == "/" })
        guard !path.contains("/") else { throw bad("the database name holds '/'") }
        if let port = url.port, !(1...65_535).contains(port) { throw bad("port \(port) is out of range") }
        self.init(user: user, host: host, port: url.port ?? 5432, database: path.removingPercentEncoding.flatMap { $0.isEmpty ? nil : $0 } ?? user)
    }

    /// `text` with the password of its `SCHEME://USER:PASSWORD@` part, if any, replaced by `***`;
    /// done on the text, so that a URL too broken to parse cannot leak one into a message either.
    static func withoutPassword(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://") else { return text }
        let rest = text[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        // The last '@' ends the user information (a password may hold '@' when percent-encoded or not).
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }

    /// The URL, which never holds the password.
    public var description: String { "postgres://\(user)@\(host):\(port)/\(database)" }

    /// The password for this location: `PGPASSWORD`, else the first matching line of the password
    /// file, else nil (the server may not ask for one).
    public func password(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        // As libpq: an empty PGPASSWORD counts as unset.
        if let password = environment["PGPASSWORD"], !password.isEmpty { return password }
        let file = environment["PGPASSFILE"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".pgpass")
        guard let text = try? String(contentsOf: file, encoding: .utf8) else {
            if environment["PGPASSFILE"] != nil {
                throw JournalLocationError(message: "cannot read the password file \(file.path) named by PGPASSFILE")
            }
            return nil
        }
        // As libpq: a file others can read is refused, its password being as good as public.
        if let mode = (try? FileManager.default.attributesOfItem(atPath: file.path))?[.posixPermissions] as? Int, mode & 0o077 != 0 {
            throw JournalLocationError(message: "the password file \(file.path) can be read by others: chmod 600 it")
        }
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            let fields = Self.passwordFileFields(String(line))
            guard fields.count == 5 else { continue }
            let wanted = [host, String(port), database, user]
            if zip(fields, wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }

    /// Splits a password-file line `host:port:database:user:password` on unescaped colons
    /// (`\:` is a colon, `\\` a backslash).
    static func passwordFileFields(_ line: String) -> [String] {
        var fields = [""]
        var escaped = false
        for character in line {
            if escaped {
                fields[fields.count - 1].append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ":" {
                fields.append("")
            } else {
                fields[fields.count - 1].append(character)
            }
        }
        return fields
    }
}

/// Which journal a daemon or `singan status` uses: the SQLite file in the root (one machine), or a
/// PostgreSQL database.
public enum JournalLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite
    case postgres(PostgresLocation)

    /// nil or empty: SQLite in the root; else a `postgres://` URL, which a build without the
    /// `PostgreSQL` package trait refuses with the way to get one.
    public init(argument: String?) throws {
        guard let argument, !argument.isEmpty else { self = .sqlite; return }
        let location = try PostgresLocation(url: argument)
        guard Self.postgresIsBuiltIn else {
            throw JournalLocationError(message: "this singan was built without PostgreSQL (the demo's lean build: "
                                       + "`--disable-default-traits`); rebuild with `swift build -c release` to use a PostgreSQL journal")
        }
        self = .postgres(location)
    }

    /// Whether this build has the PostgreSQL journal (the `PostgreSQL` package trait, on by default).
    public static var postgresIsBuiltIn: Bool {
        #if PostgreSQL
        true
        #else
        false
        #endif
    }

    public var description: String {
        switch self {
        case .sqlite: "journal.sqlite in the root"
        case .postgres(let location): location.description
        }
    }

    /// Opens the journal of `root`. A PostgreSQL journal is shared (`SharedJournal`): its claims
    /// last `lease` seconds unless renewed.
    public func open(root: URL, lease: TimeInterval = 30) throws -> any Journal {
        switch self {
        case .sqlite:
            return try SQLiteJournal(url: root.appendingPathComponent("journal.sqlite"))
        case .postgres(let location):
            #if PostgreSQL
            return try PostgresJournal(location: location, lease: lease)
            #else
            throw JournalLocationError(message: "cannot open \(location): this singan was built without PostgreSQL")
            #endif
        }
    }
}

/// A journal URL or password that cannot be used.
public struct JournalLocationError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
