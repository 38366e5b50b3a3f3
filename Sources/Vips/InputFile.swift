import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Opens an input file for reading only when it is safe to read to its end: a regular file
/// (a FIFO blocks until a writer comes, `/dev/zero` never ends), no longer than a byte limit
/// (checked before a byte is read), and with `followLinks: false` not a symbolic link.
public enum InputFile {
    /// A descriptor of `path` open for reading; the caller closes it.
    public static func open(_ path: String, maxBytes: Int, followLinks: Bool = true) throws -> Int32 {
        // O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one.
        let fd = Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (followLinks ? 0 : O_NOFOLLOW))
        guard fd >= 0 else {
            let reason = errno
            switch reason {
            case ENOENT, ENOTDIR: throw VipsError.fileNotFound(path: path)
            case ELOOP where !followLinks: throw VipsError.notRegularFile(path: path, kind: "a symbolic link")
            default: throw VipsError.corrupt(path: path, reason: "cannot open: \(String(cString: strerror(reason)))")
            }
        }
        do {
            var info = stat()
            guard fstat(fd, &info) == 0 else {
                throw VipsError.corrupt(path: path, reason: "cannot stat: \(String(cString: strerror(errno)))")
            }
            if let kind = kind(of: info.st_mode) { throw kind == "a directory"
                ? VipsError.unsupportedFormat(path: path, detail: kind) : VipsError.notRegularFile(path: path, kind: kind) }
            if info.st_size == 0 { throw VipsError.emptyFile(path: path) }
            if info.st_size > maxBytes { throw VipsError.tooLarge(path: path, bytes: Int(info.st_size), limit: maxBytes) }
            // Reads of a regular file never block; clear the flag anyway so no reader sees EAGAIN.
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
            return fd
        } catch {
            close(fd)
            throw error
        }
    }

    /// Why the file at `path` itself (links not followed) is not a regular file, or `nil` when
    /// it is one (or does not exist: the caller's open says so).
    public static func problem(at path: String) -> String? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return kind(of: info.st_mode)
    }

    /// What a non-regular file is, for messages; `nil` for a regular file.
    static func kind(of mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFLNK: return "a symbolic link"
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "not a regular file"
        }
    }
}
