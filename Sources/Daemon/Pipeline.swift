import Foundation
import Plugins

/// A validated pipeline file: where its inputs come from, its model, its steps and its outputs.
public struct Pipeline: Sendable {
    /// The file's name without extension; names the default folders.
    public let name: String
    public let file: URL
    public var summary: String?
    /// Folders relative to the root (already checked to stay inside it).
    public var folders: PipelineFolders
    public var model: ModelSource
    public var steps: [Step]
    public var output: OutputSpec
    /// How long a job waits for its side files, in seconds.
    public var sideFileTimeout: Double
    /// Attempts before a job interrupted by crashes is failed.
    public var maxAttempts: Int
    /// Largest accepted input image, in pixels.
    public var maxPixels: Int
    /// Where each folder key (`inbox`, ...) was given in the file, for errors found later
    /// (folders of other pipelines, symbolic links); absent for defaults.
    public var folderPositions: [String: (line: Int, column: Int)] = [:]

    /// Every side-file template the pipeline names (step inputs and side inputs), deduplicated.
    public var sideFiles: [NameTemplate] {
        var seen = Set<NameTemplate>()
        var all: [NameTemplate] = []
        for step in steps {
            var templates = step.side.keys.sorted().compactMap { step.side[$0] }
            if case .sideFile(let t) = step.input { templates.insert(t, at: 0) }
            for t in templates where seen.insert(t).inserted { all.append(t) }
        }
        return all
    }

    /// True when `fileName` in the inbox is one of this pipeline's side files rather than an input.
    public func isSideFile(_ fileName: String) -> Bool {
        sideFiles.contains { $0.stem(matching: fileName) != nil }
    }

    /// Whether producing the model trains (needs the training slot).
    public var trains: Bool {
        if case .train = model { return true }
        return false
    }
}

/// The pipeline's folders, relative to the root.
public struct PipelineFolders: Sendable, Equatable {
    public var inbox: String
    public var outbox: String
    public var done: String
    public var failed: String

    public init(inbox: String, outbox: String, done: String, failed: String) {
        self.inbox = inbox
        self.outbox = outbox
        self.done = done
        self.failed = failed
    }

    /// The folders with their keys, in file order.
    public var all: [(key: String, path: String)] {
        [("inbox", inbox), ("outbox", outbox), ("done", done), ("failed", failed)]
    }

    /// Names directly under the root that are the daemon's own: no pipeline folder may be one,
    /// lie in one or hold one (an inbox of "." once moved the journal and the lock into `failed/`).
    public static let reservedNames = ["pipelines", "processing", "cache", "journal.sqlite", "journal.sqlite-wal",
                                       "journal.sqlite-shm", "daemon.pid", FleetIdentity.fileName]

    /// How folder path `a` relates to folder path `b` (both normalised, relative or absolute):
    /// "is", "lies inside" or "holds", or `nil` when they are apart.
    public static func overlap(_ a: String, _ b: String) -> String? {
        if a == b { return "is" }
        if a.hasPrefix(b + "/") { return "lies inside" }
        if b.hasPrefix(a + "/") { return "holds" }
        return nil
    }

    public static func defaults(for name: String) -> PipelineFolders {
        PipelineFolders(inbox: "inbox/\(name)", outbox: "outbox/\(name)", done: "done/\(name)", failed: "failed/\(name)")
    }
}

/// Where a pipeline's model comes from.
public enum ModelSource: Sendable, Equatable {
    /// The steps need no model.
    case none
    /// A model file (absolute, or relative to the root).
    case file(String)
    /// Train on the dropped image with these `train` task parameters; cached by content hash.
    case train(ParameterValues)
}

/// One task of a pipeline.
public struct Step: Sendable {
    /// Names the step in output templates (`{step}`); defaults to the task name.
    public var name: String
    public var task: String
    public var input: StepInput
    /// Side inputs by plugin side-input name, each a side-file template.
    public var side: [String: NameTemplate]
    public var parameters: ParameterValues
    /// Whether this step's outputs are written (the last step's always are).
    public var keep: Bool
}

/// What a step takes as its primary image.
public enum StepInput: Sendable, Equatable {
    /// The previous step's images (the dropped image for the first step).
    case previous
    /// The dropped image.
    case dropped
    /// A side file of the dropped image, e.g. `{stem}_paint.png`.
    case sideFile(NameTemplate)
    /// No image (tasks that only use the model, such as `sample`).
    case none
}

/// How outputs are named and encoded.
public struct OutputSpec: Sendable, Equatable {
    /// Relative path template under the outbox, without extension.
    public var name: NameTemplate
    /// Image format extension (png, jpg, webp, tif); `nil` keeps what the task wrote.
    public var format: String?
    public var quality: Int

    public static let variables: Set<String> = ["stem", "step", "index", "label"]
    public static let formats = ["png", "jpg", "jpeg", "webp", "tif", "tiff", "keep"]
}
