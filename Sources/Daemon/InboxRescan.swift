import Foundation

/// Finds the files of an inbox that no inotify event announced: inotify does not see files that
/// other machines write on a network file system, so a daemon also lists its inboxes at an
/// interval (`--rescan`). A file is taken once it looked the same (size and modification time)
/// at two successive listings: one another machine is still writing changes between them,
/// while a local writer's file is taken at once, on its close-after-write event.
struct InboxRescan {
    /// What a file looked like at the last listing.
    private struct Look: Equatable {
        let size: Int64
        let modified: timespec

        static func == (a: Look, b: Look) -> Bool {
            a.size == b.size && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
        }
    }

    /// By inbox path, then file name.
    private var looks: [String: [String: Look]] = [:]

    /// The names in `folder` that look as they did at the last listing, sorted; remembers how
    /// every file looks now (names gone since are forgotten).
    mutating func stable(in folder: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        var now: [String: Look] = [:]
        for name in names {
            var info = stat()
            guard lstat(folder.appendingPathComponent(name).path, &info) == 0 else { continue }
            now[name] = Look(size: Int64(info.st_size), modified: info.st_mtim)
        }
        let before = looks[folder.path] ?? [:]
        looks[folder.path] = now
        return now.filter { before[$0.key] == $0.value }.keys.sorted()
    }
}
