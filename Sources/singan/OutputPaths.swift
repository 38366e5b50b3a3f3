import Foundation
import SinGAN

/// Output paths checked (or folders created) before any work starts, so that a command that
/// cannot write its result fails at once, with the reason, and leaves nothing behind.
enum OutputPaths {
    /// Fails unless the folder that will hold the file `path` exists and is writable.
    static func requireWritableFolder(for path: String) throws {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) else {
            throw SinGANError.writeFailed(path: path, reason: "the folder \(folder) does not exist")
        }
        guard isFolder.boolValue else {
            throw SinGANError.writeFailed(path: path, reason: "\(folder) is not a folder")
        }
        guard access(folder, W_OK) == 0 else {
            throw SinGANError.writeFailed(path: path, reason: "the folder \(folder) is not writable")
        }
    }

    /// Fails unless the folder `path` exists or `createFolder(path)` can create it: every existing
    /// part is a folder and the deepest existing one is writable. Creates nothing.
    static func requireCreatableFolder(_ path: String) throws {
        try walkFolder(path, creating: false)
    }

    /// Creates the folder `path` and its missing parents (`mkdir -p`); the error names the first
    /// part that cannot be created and why.
    static func createFolder(_ path: String) throws {
        try walkFolder(path, creating: true)
    }

    /// Walks `path` part by part as given (so messages name what the user typed;
    /// NSString.deletingLastPathComponent traps on a one-part relative path), checking that each
    /// existing part is a folder and creating, or checking it could create, the missing ones.
    private static func walkFolder(_ path: String, creating: Bool) throws {
        var folder = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            let parent = folder.isEmpty ? "." : folder
            folder += (folder.isEmpty || folder.hasSuffix("/") ? "" : "/") + part
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) {
                guard isFolder.boolValue else {
                    throw SinGANError.writeFailed(path: path, reason: "\(folder) exists and is not a folder")
                }
                continue
            }
            if !creating {
                guard access(parent, W_OK) == 0 else {
                    throw SinGANError.writeFailed(path: path, reason: "the folder \(parent) is not writable")
                }
                return
            }
            guard mkdir(folder, 0o755) == 0 || errno == EEXIST else {
                throw SinGANError.writeFailed(path: path, reason: "cannot create the folder \(folder): \(String(cString: strerror(errno)))")
            }
        }
    }
}
