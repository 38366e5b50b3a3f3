/// When a task's runs train or fine-tune networks. Such runs take one of the daemon's training
/// slots (training saturates every core) and checkpoint on cancellation. A plugin declares its
/// rule once (`TaskPlugin.training`); the job runner (`TaskPlugin.trains(_:)`) and `singan tasks`
/// both read it, so what the listing says is what the daemon does.
public enum TrainingRule: Sendable, Equatable, CustomStringConvertible {
    /// No run trains.
    case never
    /// Every run trains (the `train` task).
    case always
    /// Runs whose boolean parameter of this name is true train (`paint` with `quantize`).
    case whenTrue(parameter: String)
    /// Runs given no model file train one first (`superres`).
    case withoutModel

    /// Whether a run of `request` trains.
    public func applies(to request: TaskRequest) -> Bool {
        switch self {
        case .never: return false
        case .always: return true
        case .whenTrue(let name): return request.parameters[name] == .bool(true)
        case .withoutModel: return request.model == nil
        }
    }

    /// "always", "when quantize is true", ...: the `trains:` line of `singan tasks`.
    public var description: String {
        switch self {
        case .never: return "never"
        case .always: return "always"
        case .whenTrue(let name): return "when \(name) is true"
        case .withoutModel: return "when no model is given"
        }
    }
}
