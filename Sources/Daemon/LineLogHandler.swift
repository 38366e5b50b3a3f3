import Foundation
import Logging

/// Writes each log event as one logfmt line on standard error:
/// `2026-11-23T08:30:00.123Z info job.done pipeline=resize job=1f2e input=a.png duration=0.412s`.
public struct LineLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private static let lock = NSLock()

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        write(level: event.level, message: event.message, extra: event.metadata)
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?,
                    source: String, file: String, function: String, line: UInt) {
        write(level: level, message: message, extra: extra)
    }

    private func write(level: Logger.Level, message: Logger.Message, extra: Logger.Metadata?) {
        let all = metadata.merging(extra ?? [:]) { $1 }
        let fields = all.keys.sorted().map { "\($0)=\(Self.quoted("\(all[$0]!)"))" }
        let text = ([Self.timestamp(), level.rawValue, "\(message)"] + fields).joined(separator: " ") + "\n"
        Self.lock.lock()
        FileHandle.standardError.write(Data(text.utf8))
        Self.lock.unlock()
    }

    static func quoted(_ value: String) -> String {
        guard value.isEmpty || value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }

    static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}

extension LineLogHandler {
    private static let installed: Void = LoggingSystem.bootstrap { LineLogHandler(label: $0) }

    /// Makes every `Logger` of the process write logfmt lines (safe to call more than once).
    public static func bootstrap() { _ = installed }
}
