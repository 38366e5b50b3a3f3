import Foundation

/// One daemon per root: an exclusive `flock` on `ROOT/daemon.pid`, which also holds the pid.
/// The daemons of a fleet (a shared journal) share the root: each takes a shared lock, which
/// still keeps a daemon with a journal of its own off the root, on this machine at least
/// (network file systems may not carry `flock` between machines).
/// The kernel drops the lock when the process dies, even by `kill -9`.
final class DaemonLock {
    private let fd: Int32

    init(root: URL, shared: Bool = false) throws {
        let path = root.appendingPathComponent("daemon.pid").path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DaemonError.cannotStart("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0 else {
            close(fd)
            let pid = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if shared {
                throw DaemonError.cannotStart("a daemon with a journal of its own (pid \(pid.isEmpty ? "?" : pid)) runs on \(root.path); a fleet shares the root only with daemons of its database")
            }
            throw DaemonError.cannotStart(pid.isEmpty ? "daemons of a fleet (a shared --journal) run on \(root.path)"
                                                       : "another daemon (pid \(pid)) already runs on \(root.path)")
        }
        ftruncate(fd, 0)
        // A fleet's daemons leave the file empty: there is no one pid to name.
        if shared { return }
        let text = "\(getpid())\n"
        _ = text.withCString { write(fd, $0, strlen($0)) }
    }

    deinit { close(fd) }

    /// The pid of the daemon running on `root`, or nil when none holds the lock.
    static func runningPid(root: URL) -> Int32? {
        let path = root.appendingPathComponent("daemon.pid").path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 { flock(fd, LOCK_UN); return nil }
        return (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
}

public enum DaemonError: Error, CustomStringConvertible {
    case cannotStart(String)

    public var description: String {
        switch self {
        case .cannotStart(let reason): return "cannot start the daemon: \(reason)"
        }
    }
}
