import Foundation

/// The identity of a root shared by a fleet: a random id in `ROOT/fleet.id`, which the shared
/// journal records (`SharedJournal.bind`), so that a daemon started on another root against the
/// same database is refused instead of failing jobs whose files it cannot see.
enum FleetIdentity {
    static let fileName = "fleet.id"

    /// The root's id, created by the first daemon. Written beside and hard-linked into place:
    /// `link` fails when the name exists, so daemons starting together agree on the first one
    /// written, and nobody reads a half-written file.
    static func of(root: URL) throws -> String {
        let file = root.appendingPathComponent(fileName)
        if let id = try read(file) { return id }
        let temporary = root.appendingPathComponent(".\(fileName).\(UUID().uuidString)")
        try (UUID().uuidString.lowercased() + "\n").write(to: temporary, atomically: false, encoding: .utf8)
        defer { unlink(temporary.path) }
        if link(temporary.path, file.path) != 0 && errno != EEXIST {
            throw DaemonError.cannotStart("cannot create \(file.path): \(String(cString: strerror(errno)))")
        }
        guard let id = try read(file) else { throw DaemonError.cannotStart("\(file.path) is empty; remove it and start again") }
        return id
    }

    private static func read(_ file: URL) throws -> String? {
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        let text = try String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}
