import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes whole files so that readers see either nothing or the complete
/// file: bytes go to a hidden temporary file in the same folder (same file
/// system, so the rename is atomic), are flushed to disk, then renamed over
/// the destination. On any failure the temporary file is removed.
/// Every file the product writes whole (images, animations, model files, training reports,
/// command outputs, the daemon's moves and error reports) is written this way, so a process
/// killed mid-write leaves at most one kind of litter: see `AtomicFile+Temporaries.swift`.
public enum AtomicFile {
    /// Writes `bytes` to `path` atomically. Throws `AtomicFileError.writeFailed`
    /// naming `path` and the failing step.
    public static func write<Bytes: ContiguousBytes>(_ bytes: Bytes, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let temporary = folder + "/" + temporaryName(of: url.lastPathComponent)

        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw AtomicFileError.writeFailed(path: path, reason: systemError("cannot create a file in \(folder)"))
        }
        var failure: String?
        bytes.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = systemError("write")
                    return
                }
                offset += written
            }
        }
        if failure == nil, fsync(descriptor) != 0 { failure = systemError("fsync") }
        if close(descriptor) != 0, failure == nil { failure = systemError("close") }
        if failure == nil, rename(temporary, path) != 0 { failure = systemError("rename") }
        if let failure {
            unlink(temporary)
            throw AtomicFileError.writeFailed(path: path, reason: failure)
        }
        // Persist the rename itself; losing it only loses the new file, never corrupts it.
        let folderDescriptor = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folderDescriptor >= 0 {
            fsync(folderDescriptor)
            close(folderDescriptor)
        }
    }

    private static func systemError(_ step: String) -> String {
        "\(step): \(String(cString: strerror(errno)))"
    }
}

/// A whole-file write that failed; nothing was left at `path`.
public enum AtomicFileError: Error, CustomStringConvertible, Equatable {
    /// `reason` names the failing step (create, write, fsync, close, rename) and the system's error.
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .writeFailed(path, reason): return "\(path): write failed (\(reason))"
        }
    }
}
