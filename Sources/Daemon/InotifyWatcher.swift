import CInotify
import Foundation

/// Watches folders with Linux inotify and reports files that finished arriving.
///
/// Only `IN_CLOSE_WRITE` and `IN_MOVED_TO` count as arrival, never `IN_CREATE`: a file is
/// reported once its writer closed it or once it was renamed in whole, so it is never half-written.
/// `@unchecked`: `folders` and `stopping` are guarded by `lock`; `thread` is set by `start()` before the loop runs.
public final class InotifyWatcher: @unchecked Sendable {
    public struct Event: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            /// Closed after writing or renamed into the folder.
            case arrived
            /// Deleted or renamed away.
            case departed
            /// The watched folder itself was removed or moved.
            case folderGone
            /// The kernel dropped events; rescan every watched folder.
            case overflow
        }
        public let folder: URL
        public let name: String
        public let kind: Kind
    }

    private let fd: Int32
    private let lock = NSLock()
    private var folders: [Int32: URL] = [:]
    private var thread: Thread?
    private var stopping = false
    private let handler: (Event) -> Void

    /// `handler` runs on the watcher's own thread, one event at a time.
    public init(handler: @escaping (Event) -> Void) throws {
        fd = cinotify_init()
        guard fd >= 0 else { throw WatcherError(message: "inotify_init1 failed: \(String(cString: strerror(errno)))") }
        self.handler = handler
    }

    deinit { close(fd) }

    /// Starts watching `folder` for arrivals (and departures). Watching a folder twice is harmless.
    public func watch(_ folder: URL) throws {
        let wd = inotify_add_watch(fd, folder.path, cinotify_arrival_mask() | cinotify_departure_mask() | UInt32(IN_DELETE_SELF | IN_MOVE_SELF))
        guard wd >= 0 else {
            throw WatcherError(message: "cannot watch \(folder.path): \(String(cString: strerror(errno)))")
        }
        lock.lock(); folders[wd] = folder.standardizedFileURL; lock.unlock()
    }

    public func unwatch(_ folder: URL) {
        lock.lock(); defer { lock.unlock() }
        for (wd, url) in folders where url == folder.standardizedFileURL {
            inotify_rm_watch(fd, wd)
            folders[wd] = nil
        }
    }

    public func start() {
        let thread = Thread { [weak self] in self?.loop() }
        thread.name = "inotify"
        self.thread = thread
        thread.start()
    }

    /// Stops reporting; returns once no handler call is running.
    public func stop() {
        lock.lock(); stopping = true; lock.unlock()
        while thread?.isFinished == false { Thread.sleep(forTimeInterval: 0.01) }
    }

    private var isStopping: Bool {
        lock.lock(); defer { lock.unlock() }
        return stopping
    }

    private func loop() {
        let header = cinotify_event_size()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !isStopping {
            guard cinotify_wait_readable(fd, 200) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { continue }
            var offset = 0
            while offset + header <= n {
                let (wd, mask, length) = buffer.withUnsafeBytes { raw -> (Int32, UInt32, Int) in
                    (raw.loadUnaligned(fromByteOffset: offset, as: Int32.self),
                     raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self),
                     Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self)))
                }
                let nameBytes = buffer[(offset + header)..<(offset + header + length)].prefix { $0 != 0 }
                let name = String(decoding: nameBytes, as: UTF8.self)
                offset += header + length
                dispatch(wd: wd, mask: mask, name: name)
            }
        }
    }

    private func dispatch(wd: Int32, mask: UInt32, name: String) {
        if mask & cinotify_overflow_mask() != 0 {
            handler(Event(folder: URL(fileURLWithPath: "/"), name: "", kind: .overflow))
            return
        }
        lock.lock()
        let folder = folders[wd]
        if mask & UInt32(IN_IGNORED) != 0 { folders[wd] = nil }
        lock.unlock()
        guard let folder, mask & cinotify_is_dir_mask() == 0 || mask & cinotify_gone_mask() != 0 else { return }
        if mask & cinotify_arrival_mask() != 0 {
            handler(Event(folder: folder, name: name, kind: .arrived))
        } else if mask & cinotify_departure_mask() != 0 {
            handler(Event(folder: folder, name: name, kind: .departed))
        } else if mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF) != 0 {
            handler(Event(folder: folder, name: "", kind: .folderGone))
        }
    }
}

public struct WatcherError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
