import Foundation

/// Keeps every path the daemon writes inside its root: no absolute paths, no `..`, and no
/// symbolic link that leads out.
public enum RootPath {
    /// Why `path` is not a safe relative path, or `nil` when it is.
    public static func problem(relative path: String) -> String? {
        if path.isEmpty { return "must not be empty" }
        if path.hasPrefix("/") || path.hasPrefix("~") { return "must be relative to the root, got \"\(path)\"" }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        if parts.contains("..") { return "must not contain '..', got \"\(path)\"" }
        if parts.contains(where: { $0.isEmpty }) { return "must not contain empty path parts, got \"\(path)\"" }
        return nil
    }

    /// `relative` resolved under `root`, after checking that no existing part of it is a
    /// symbolic link out of the root.
    public static func resolve(_ relative: String, under root: URL) throws -> URL {
        if let problem = problem(relative: relative) { throw RootPathError(path: relative, reason: problem) }
        let realRoot = root.resolvingSymlinksInPath().standardizedFileURL.path
        let inside = { (path: String) in path == realRoot || path.hasPrefix(realRoot == "/" ? "/" : realRoot + "/") }
        var url = root
        for part in relative.split(separator: "/") {
            url.appendPathComponent(String(part))
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: url.path) {
                // A link, perhaps dangling: judge where it points, not whether that exists.
                let parent = url.deletingLastPathComponent().resolvingSymlinksInPath()
                let absolute = target.hasPrefix("/") ? URL(fileURLWithPath: target) : parent.appendingPathComponent(target)
                let real = absolute.resolvingSymlinksInPath().standardizedFileURL.path
                guard inside(real) else {
                    throw RootPathError(path: relative, reason: "leads out of the root through a symbolic link (to \(real))")
                }
            } else if !FileManager.default.fileExists(atPath: url.path) {
                break
            }
        }
        return root.appendingPathComponent(relative)
    }
}

public struct RootPathError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String
    public var description: String { "path \"\(path)\" \(reason)" }
}
