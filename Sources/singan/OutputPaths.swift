import Foundation
import PyramidModel

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

    /// Creates the folder `path` and its missing parents (`mkdir -p`); the error names the first
    /// part that cannot be created and why.
    static func createFolder(_ path: String) throws {
        // Built part by part from the path as given, so messages name what the user typed
        // (NSString.deletingLastPathComponent traps on a one-component relative path).
        var folder = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            folder += (folder.isEmpty || folder.hasSuffix("/") ? "" : "/") + part
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) {
                guard isFolder.boolValue else {
                    throw SinGANError.writeFailed(path: path, reason: "\(folder) exists and is not a folder")
                }
                continue
            }
            guard mkdir(folder, 0o755) == 0 || errno == EEXIST else {
                throw SinGANError.writeFailed(path: path, reason: "cannot create the folder \(folder): \(String(cString: strerror(errno)))")
            }
        }
    }
}
