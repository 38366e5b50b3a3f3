import AtomicFile
import Foundation

/// File moves that never leave a partial file at the destination.
enum FileMoves {
    /// Moves `source` to `destination`, replacing it: one rename on the same file system, else an
    /// atomic copy (`AtomicFile.write`) and the removal of `source`.
    static func moveAtomically(_ source: URL, to destination: URL) throws {
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        if rename(source.path, destination.path) == 0 { return }
        guard errno == EXDEV else {
            throw FileMoveError(source: source.path, destination: destination.path, reason: String(cString: strerror(errno)))
        }
        do {
            try AtomicFile.write(try Data(contentsOf: source, options: .alwaysMapped), to: destination.path)
        } catch {
            throw FileMoveError(source: source.path, destination: destination.path, reason: "\(error)")
        }
        try? FileManager.default.removeItem(at: source)
    }

    /// Writes `text` to `url` atomically (`AtomicFile.write`), creating its folder if needed.
    static func writeAtomically(_ text: String, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try AtomicFile.write(Data(text.utf8), to: url.path)
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
