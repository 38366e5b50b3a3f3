import Foundation
import SinGAN

/// A task that turns input images (plus a model file and named side inputs) into output files.
///
/// A plugin declares everything the pipeline validator and `singan tasks` need as static
/// properties; `run` does the work. Plugins are created fresh for each run, so they hold no state
/// between jobs (use `TaskContext.models` to keep a loaded model across jobs).
///
/// Plugins write their outputs into `context.workDirectory` (use `context.outputURL(_:)`); the
/// runner then moves them atomically to their final, templated names. A plugin never writes
/// anywhere else.
public protocol TaskPlugin {
    /// The name used in pipeline files (`task: NAME`) and by `singan tasks`. Lowercase, no spaces.
    static var name: String { get }
    /// One line describing what the task does.
    static var summary: String { get }
    /// The parameters the task accepts.
    static var parameters: ParameterSchema { get }
    /// What the task consumes besides parameters.
    static var inputs: TaskInputs { get }
    /// Whether the task's product is a trained model (the `train` task): it always trains, and its
    /// output feeds no image input of a following step.
    static var isTraining: Bool { get }

    /// Which runs train or fine-tune networks (see `TrainingRule`). Default: `.always` for a
    /// training task, else `.never`; tasks that train only for some inputs (e.g. `paint` with
    /// `quantize`, `superres` without a model) say when.
    static var training: TrainingRule { get }

    /// Bytes a run of `request` needs at its peak, estimated before it runs from the primary
    /// image's size (0 x 0 without one); the daemon refuses a run over its memory budget.
    /// Default: loading the image (`MemoryEstimate.decoding`), plus training at the preset's
    /// working size when the run trains.
    static func peakMemory(_ request: TaskRequest, width: Int, height: Int) -> Int

    init()

    /// Runs the task once. Throws `TaskError` (or any error whose description says why) on bad
    /// input, and `TaskCancelled` after `context.cancellation` fired (training checkpoints first).
    func run(_ request: TaskRequest, context: TaskContext) throws -> [TaskArtifact]
}

extension TaskPlugin {
    public static var isTraining: Bool { false }
    public static var training: TrainingRule { isTraining ? .always : .never }

    /// Whether a run of `request` trains: it then takes one of the daemon's training slots.
    public static func trains(_ request: TaskRequest) -> Bool { training.applies(to: request) }

    public static func peakMemory(_ request: TaskRequest, width: Int, height: Int) -> Int {
        MemoryEstimate.decoding(pixels: width * height)
            + (trains(request) ? MemoryEstimate.training(preset(request.parameters), width: width, height: height) : 0)
    }

    /// The `preset` parameter's configuration, the paper's for a task without one.
    private static func preset(_ parameters: ParameterValues) -> TrainingConfig {
        parameters.optionalString("preset").flatMap(TrainingConfig.preset(named:)) ?? .paper
    }
}

/// Whether a task needs a kind of input.
public enum Requirement: Sendable, Equatable {
    case none, optional, required
}

/// A named side input of a task, such as `mask` or `reference`.
public struct SideInput: Sendable {
    public let name: String
    public let isRequired: Bool
    public let summary: String

    public init(_ name: String, required: Bool = true, _ summary: String) {
        self.name = name
        self.isRequired = required
        self.summary = summary
    }
}

/// What a task consumes: a primary image, a model file, and named side inputs.
public struct TaskInputs: Sendable {
    /// The primary image: the dropped image, a side file, or each image the previous step produced.
    public let image: Requirement
    /// A trained model file (see the `train` task).
    public let model: Requirement
    public let sideInputs: [SideInput]

    public init(image: Requirement, model: Requirement = .none, sideInputs: [SideInput] = []) {
        self.image = image
        self.model = model
        self.sideInputs = sideInputs
    }
}

/// The inputs of one run. Paths are files that exist and were checked to be loadable images
/// (model files excepted) no larger than `TaskContext.maxPixels`; only `singan train` leaves its
/// image to the `train` task, whose training reports an unusable one.
public struct TaskRequest {
    /// The primary image, present when `inputs.image` is not `.none` (and given, if `.optional`).
    public var image: URL?
    /// The model file, present when `inputs.model` is not `.none` (and given, if `.optional`).
    public var model: URL?
    /// Side inputs by the names declared in `inputs.sideInputs`.
    public var sideInputs: [String: URL]
    public var parameters: ParameterValues

    public init(image: URL? = nil, model: URL? = nil, sideInputs: [String: URL] = [:],
                parameters: ParameterValues = ParameterValues()) {
        self.image = image
        self.model = model
        self.sideInputs = sideInputs
        self.parameters = parameters
    }
}

/// One file a task produced, inside `TaskContext.workDirectory`.
public struct TaskArtifact: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// A still image; the runner converts it to the pipeline's output format.
        case image
        /// An animation (e.g. a GIF); written as produced.
        case animation
        /// A trained model file (the `train` task's output).
        case model
    }

    public let url: URL
    public let kind: Kind
    /// Distinguishes outputs of one run, e.g. "masked" / "unmasked"; `{label}` in output names.
    public let label: String?

    public init(_ url: URL, kind: Kind = .image, label: String? = nil) {
        self.url = url
        self.kind = kind
        self.label = label
    }
}
