import AtomicFile
import Foundation

/// The hidden temporaries of this program's atomic writes (`AtomicFile.write`: images,
/// animations, model files and checkpoints, the daemon's moves across file systems and its
/// `.error.txt` reports), which a `kill -9` between creating one and renaming it into place leaves
/// behind. The daemon removes them at start, in the folders only it writes to, and nothing else:
/// users' files (hidden or not) never match `AtomicFile.isTemporary(_:)`.
enum StaleTemporaries {
    /// Removes the matching regular files in `folders` and their subfolders, except in `skipped`
    /// folders (inboxes, in case an outbox holds one) and their subfolders; symbolic links are
    /// neither followed nor removed; with `modifiedBefore`, only files last modified before it.
    /// Returns the removed files.
    static func remove(under folders: [URL], skipping skipped: [URL], modifiedBefore cutoff: Date? = nil) -> [URL] {
        let skippedPaths = Set(skipped.map(\.standardizedFileURL.path))
        var removed: [URL] = []
        var visited = Set<String>()
        var pending = folders
        while let folder = pending.popLast() {
            let path = folder.standardizedFileURL.path
            guard !skippedPaths.contains(path), visited.insert(path).inserted else { continue }
            for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] {
                let url = folder.appendingPathComponent(name)
                var info = stat()
                guard lstat(url.path, &info) == 0 else { continue }
                switch info.st_mode & S_IFMT {
                case S_IFDIR: pending.append(url)
                case S_IFREG where AtomicFile.isTemporary(name):
                    if let cutoff, Double(info.st_mtim.tv_sec) >= cutoff.timeIntervalSince1970 { continue }
                    if unlink(url.path) == 0 { removed.append(url) }
                default: break
                }
            }
        }
        return removed
    }
}
