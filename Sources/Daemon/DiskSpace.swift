import Foundation

/// Telling a full disk from a bad input, and how long to wait for room.
enum DiskSpace {
    /// Whether `error` says the disk (or quota) is full: `ENOSPC` and `EDQUOT` from the system,
    /// `SQLITE_FULL` from the journal. Errors reach here as text from several layers (libvips,
    /// atomic writes, SQLite), so the text is what is compared.
    static func isFull(_ error: Error) -> Bool {
        let text = "\(error)"
        return [String(cString: strerror(ENOSPC)), String(cString: strerror(EDQUOT)), "database or disk is full"]
            .contains { text.contains($0) }
    }

    /// Seconds to wait after `failures` consecutive failures: 0.5 s, doubling, at most 30 s.
    static func backoff(afterFailures failures: Int) -> TimeInterval {
        min(30, 0.5 * pow(2, Double(max(0, min(failures - 1, 10)))))
    }
}
