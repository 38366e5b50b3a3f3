import Foundation

/// File moves that never leave a partial file at the destination.
enum FileMoves {
    /// Moves `source` to `destination`, replacing it: one rename on the same file system, else a
    /// copy to a hidden temporary beside the destination, a sync, and a rename.
    static func moveAtomically(_ source: URL, to destination: URL) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        if rename(source.path, destination.path) == 0 { return }
        guard errno == EXDEV else {
            throw FileMoveError(source: source.path, destination: destination.path, reason: String(cString: strerror(errno)))
        }
        try replace(destination) { try fm.copyItem(at: source, to: $0) }
        try? fm.removeItem(at: source)
    }

    /// Writes `text` to `url` atomically (temporary file, then rename).
    static func writeAtomically(_ text: String, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try replace(url) { try Data(text.utf8).write(to: $0) }
    }

    /// Has `make` write a hidden temporary beside `destination` (named as `StaleTemporaries`
    /// expects), flushes it and renames it over `destination`; removes it on failure.
    private static func replace(_ destination: URL, make: (URL) throws -> Void) throws {
        let temporary = destination.deletingLastPathComponent()
            .appendingPathComponent(".\(destination.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try make(temporary)
            let fd = open(temporary.path, O_RDONLY)
            if fd >= 0 { fsync(fd); close(fd) }
            guard rename(temporary.path, destination.path) == 0 else {
                throw FileMoveError(source: temporary.path, destination: destination.path, reason: String(cString: strerror(errno)))
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    /// `folder/name`, or `folder/stem-<tag>.ext` if that name is taken, so nothing is overwritten.
    static func freeName(_ name: String, in folder: URL, tag: String) -> URL {
        let plain = folder.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: plain.path) else { return plain }
        let stem = (name as NSString).deletingPathExtension
        let ext = (name as NSString).pathExtension
        return folder.appendingPathComponent(ext.isEmpty ? "\(stem)-\(tag)" : "\(stem)-\(tag).\(ext)")
    }
}

struct FileMoveError: Error, CustomStringConvertible {
    let source: String
    let destination: String
    let reason: String
    var description: String { "cannot move \(source) to \(destination): \(reason)" }
}
