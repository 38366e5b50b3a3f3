import Foundation

/// A problem in a pipeline file, with its position: `file:line:column: message`.
public struct PipelineError: Error, Equatable, CustomStringConvertible {
    public let file: String
    /// 1-based; 0 when the problem has no position (e.g. an unreadable file).
    public let line: Int
    public let column: Int
    public let message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        line > 0 ? "\(file):\(line):\(column): \(message)" : "\(file): \(message)"
    }
}
