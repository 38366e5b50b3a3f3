/// Why a task failed, in a message that names the input and the reason.
///
/// Either the plugin's own complaint about its input (`TaskError("paint needs a paint image")`),
/// or a typed error of the library that did the work (`SinGANError`, `VipsError`,
/// `PatchTierError`, or another `TaskError`), kept as `underlying` so callers can match it, with
/// what the task was doing (`context`, e.g. "model m.singan"). A message may start with the task's
/// name (`task`); the command line names the task itself and prints `detail` instead.
public struct TaskError: Error, CustomStringConvertible {
    /// The task the message starts with ("sample: ..."), when it names one.
    public let task: String?
    /// The plugin's own words, or what it was doing when `underlying` was thrown.
    public let context: String?
    /// The typed error behind this one, if any.
    public let underlying: (any Error)?

    /// The plugin's own complaint, naming `task` first when given.
    public init(task: String? = nil, _ message: String) {
        self.task = task
        context = message
        underlying = nil
    }

    /// `error`, thrown while the task (named first when given) was doing `context`.
    public init(task: String? = nil, context: String? = nil, underlying error: any Error) {
        self.task = task
        self.context = context
        underlying = error
    }

    /// The message without the task's name: "CONTEXT: UNDERLYING", or either alone.
    public var detail: String {
        [context, underlying.map { "\($0)" }].compactMap { $0 }.joined(separator: ": ")
    }

    public var description: String {
        task.map { "\($0): \(detail)" } ?? detail
    }

    /// The message of `error` for a line that already names `task` (`singan TASK: ...`).
    public static func detail(of error: any Error, namingTask task: String) -> String {
        if let error = error as? TaskError, error.task == task { return error.detail }
        return "\(error)"
    }
}

/// Thrown by a task that stopped because its job was cancelled (daemon shutdown).
public struct TaskCancelled: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "cancelled" }
}
