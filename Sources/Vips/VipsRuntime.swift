import CVips
import Foundation

/// Process-wide libvips set-up. Every entry point of this module calls
/// `initialize()` itself; calling it earlier only moves the cost.
public enum VipsRuntime {
    /// Worker threads libvips may use per operation: `SINGAN_VIPS_THREADS`
    /// when set to a positive integer, else 2 (the engine owns the other cores).
    public static var threadCount: Int {
        if let text = ProcessInfo.processInfo.environment["SINGAN_VIPS_THREADS"],
           let count = Int(text), count > 0 {
            return count
        }
        return 2
    }

    private static let started: Bool = cvips_init(Int32(threadCount)) == 0

    /// Starts libvips once (thread-safe): operation cache off, because it
    /// would return stale pixels for reused memory; thread count capped;
    /// untrusted loaders blocked; warnings captured instead of printed.
    public static func initialize() throws {
        guard started else {
            throw VipsError.operationFailed(operation: "vips_init", reason: takeError())
        }
    }

    /// The pending libvips error and warning text as one line, then cleared.
    static func takeError() -> String {
        guard let raw = cvips_take_error() else { return "unknown libvips error" }
        defer { g_free(raw) }
        var seen = Set<String>()
        let lines = String(cString: raw)
            .split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && seen.insert($0).inserted }
        return lines.isEmpty ? "unknown libvips error" : lines.joined(separator: "; ")
    }
}
