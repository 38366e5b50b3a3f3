import Foundation
import Logging
import Plugins
import Vips

/// One dropped image and everything a run of its pipeline needs to know about it.
public struct JobInput {
    /// The dropped image.
    public var image: URL
    /// Side files found for it, by template.
    public var sideFiles: [NameTemplate: URL]
    /// A private, empty scratch folder for this run (on the output's file system if possible).
    public var workDirectory: URL
    /// Where templated output names are placed; nothing is written outside it.
    public var outputDirectory: URL

    public init(image: URL, sideFiles: [NameTemplate: URL], workDirectory: URL, outputDirectory: URL) {
        self.image = image
        self.sideFiles = sideFiles
        self.workDirectory = workDirectory
        self.outputDirectory = outputDirectory
    }

    /// The dropped file's name without extension: `{stem}` in templates.
    public var stem: String { image.deletingPathExtension().lastPathComponent }
}

/// Runs a pipeline's steps over one input and writes the outputs. Shared by `singan run` and
/// the daemon; knows nothing of inboxes or the journal.
/// `@unchecked`: every stored property is a constant, and each of their types is thread-safe.
public final class JobExecutor: @unchecked Sendable {
    public let root: URL
    public let registry: PluginRegistry
    public let models: LoadedModelCache
    public let modelStore: ModelStore
    public let gate: TrainingGate
    private let logger: Logger
    /// Seconds each task run waits (cancellably) before it starts (`DaemonOptions.stepDelay`).
    private let stepDelay: TimeInterval
    /// Bytes one task run may need at its peak (`TaskPlugin.peakMemory`); a run estimated above
    /// it is refused before it starts.
    public let memoryBudget: Int

    /// Three quarters of the machine's memory: one job may use most of it, never all.
    public static var defaultMemoryBudget: Int { Int(ProcessInfo.processInfo.physicalMemory / 4 * 3) }

    public init(root: URL, registry: PluginRegistry, models: LoadedModelCache = LoadedModelCache(),
                trainingSlots: Int = 1, stepDelay: TimeInterval = 0, memoryBudget: Int = JobExecutor.defaultMemoryBudget,
                logger: Logger) {
        self.memoryBudget = memoryBudget
        self.root = root
        self.registry = registry
        self.models = models
        self.gate = TrainingGate(slots: trainingSlots)
        self.modelStore = ModelStore(directory: root.appendingPathComponent("cache/models"), gate: gate)
        self.logger = logger
        self.stepDelay = stepDelay
    }

    /// Runs `pipeline` on `input`; returns the written output files. Throws `TaskCancelled` when
    /// `cancellation` fired, any other error when the job failed (its description says why).
    /// `jobLogger` (default: the executor's) carries the job's metadata into step log lines.
    public func run(_ pipeline: Pipeline, on input: JobInput, cancellation: CancellationToken, jobLogger: Logger? = nil,
                    progress: @escaping (Double, String?) -> Void = { _, _ in }) throws -> [URL] {
        let logger = jobLogger ?? self.logger
        try checkImage(input.image, pipeline: pipeline, role: "input")
        for (_, url) in input.sideFiles.sorted(by: { $0.key.description < $1.key.description }) {
            try checkImage(url, pipeline: pipeline, role: "side file")
        }
        // Progress: a training, when one runs, fills the first `trainingShare` of the bar; the
        // steps share the rest equally (all of it when the model was cached or given).
        let (model, trained) = try resolveModel(pipeline, input: input, cancellation: cancellation, logger: logger) { fraction, note in
            progress(fraction * Self.trainingShare, note)
        }
        let stepsStart = trained ? Self.trainingShare : 0
        let phases = Double(pipeline.steps.count)

        var previous = [TaskArtifact(input.image)]
        var kept: [(step: Step, artifacts: [TaskArtifact])] = []
        for (number, step) in pipeline.steps.enumerated() {
            guard let plugin = registry.plugin(named: step.task) else { throw TaskError("unknown task '\(step.task)'") }
            let images: [URL?]
            switch step.input {
            case .previous: images = previous.filter { $0.kind != .model }.map { $0.url }
            case .dropped: images = [input.image]
            case .sideFile(let t): images = [try sideFile(t, of: input)]
            case .none: images = [nil]
            }
            guard !images.isEmpty else { throw TaskError("step '\(step.name)' got no image from the previous step") }
            let side = try step.side.mapValues { try sideFile($0, of: input) }
            var produced: [TaskArtifact] = []
            for (i, image) in images.enumerated() {
                let started = Date()
                let work = input.workDirectory.appendingPathComponent("\(number + 1)-\(step.name)/\(i)")
                try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
                let share = (1 - stepsStart) / (phases * Double(images.count))
                let base = stepsStart + (Double(number) * Double(images.count) + Double(i)) * share
                let context = TaskContext(
                    workDirectory: work, checkpointDirectory: input.workDirectory.appendingPathComponent("checkpoints/\(step.name)"),
                    cancellation: cancellation, maxPixels: pipeline.maxPixels, models: models, logger: logger,
                    onProgress: { p in
                        progress(base + p.fraction * share, "\(step.name): \(p.note ?? "running")")
                    })
                try FileManager.default.createDirectory(at: context.checkpointDirectory, withIntermediateDirectories: true)
                let request = TaskRequest(image: image, model: plugin.inputs.model == .none ? nil : model,
                                          sideInputs: side, parameters: step.parameters)
                try checkMemory(plugin, request, pipeline: pipeline, what: "step '\(step.name)' (task \(step.task))")
                progress(base, "\(step.name): running")
                if stepDelay > 0 { try cancellation.sleep(seconds: stepDelay) }
                let artifacts = try plugin.trains(request)
                    ? gate.run(cancellation: cancellation) { try plugin.init().run(request, context: context) }
                    : plugin.init().run(request, context: context)
                try cancellation.check()
                try check(artifacts, of: step, in: work)
                produced += artifacts
                logger.info("step.done", metadata: [
                    "step": "\(step.name)", "task": "\(step.task)", "outputs": "\(artifacts.count)",
                    "duration": "\(Self.seconds(since: started))"])
            }
            previous = produced
            if step.keep || number == pipeline.steps.count - 1 { kept.append((step, produced)) }
        }
        try cancellation.check()
        return try write(kept, pipeline: pipeline, input: input)
    }

    /// The part of a job's progress bar its training fills, when it trains: training is the long
    /// phase. Measured in the README demo (`sample`, 4 samples of a `fast` model of balloons.png):
    /// 262.2 s of training, then 0.3 s for the step; with an equal share per phase the bar
    /// stood at 50% when the job was all but done. 0.9 leaves room for slower steps
    /// (an animation's frames, quantised paint's fine-tuning).
    static let trainingShare = 0.9

    /// Duration formatted for logs, e.g. "1.234s".
    static func seconds(since start: Date) -> String {
        String(format: "%.3fs", Date().timeIntervalSince(start))
    }

    private func checkImage(_ url: URL, pipeline: Pipeline, role: String) throws {
        try OutputWriter(maxPixels: pipeline.maxPixels).checkUsableImage(url, role: role, name: url.lastPathComponent)
    }

    /// Refuses a run whose estimated peak memory is over the budget, before it starts.
    private func checkMemory(_ plugin: any TaskPlugin.Type, _ request: TaskRequest, pipeline: Pipeline, what: String) throws {
        let size: (width: Int, height: Int) = try request.image.map { try VipsImage.headerSize(path: $0.path, maxPixels: pipeline.maxPixels) } ?? (0, 0)
        let need = plugin.peakMemory(request, width: size.width, height: size.height)
        guard need <= memoryBudget else {
            throw TaskError("\(what) would need about \(MemoryEstimate.text(need)) of memory at its peak for a " +
                            "\(size.width)x\(size.height) image, over the memory budget of \(MemoryEstimate.text(memoryBudget)) " +
                            "(singan daemon --memory-budget-mb); refused before it started")
        }
    }

    private func sideFile(_ template: NameTemplate, of input: JobInput) throws -> URL {
        guard let url = input.sideFiles[template] else {
            throw TaskError("side file \(template.render(["stem": input.stem])) is missing")
        }
        return url
    }

    /// The model the pipeline's steps use: none, a given file, or the cached model of the input
    /// image, trained now (`trained`) when the cache has none.
    private func resolveModel(_ pipeline: Pipeline, input: JobInput, cancellation: CancellationToken, logger: Logger,
                              progress: @escaping (Double, String?) -> Void) throws -> (url: URL?, trained: Bool) {
        switch pipeline.model {
        case .none:
            return (nil, false)
        case .file(let path):
            let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : root.appendingPathComponent(path)
            guard FileManager.default.fileExists(atPath: url.path) else { throw TaskError("model file \(url.path) does not exist") }
            return (url, false)
        case .train(let parameters):
            guard let train = registry.plugin(named: "train") else { throw TaskError("this build has no 'train' task") }
            try checkMemory(train, TaskRequest(image: input.image, parameters: parameters), pipeline: pipeline, what: "training the model")
            let started = Date()
            let (url, trained) = try modelStore.model(trainingImage: input.image, parameters: parameters, cancellation: cancellation,
                                                      waiting: {
                logger.info("model.waiting", metadata: ["reason": "another daemon trains this image"])
                progress(0, "train: waiting for another daemon training this image")
            }) { checkpoints in
                let work = input.workDirectory.appendingPathComponent("0-train")
                try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
                let context = TaskContext(workDirectory: work, checkpointDirectory: checkpoints, cancellation: cancellation,
                                          maxPixels: pipeline.maxPixels, models: models, logger: logger,
                                          onProgress: { p in progress(p.fraction, "train: \(p.note ?? "running")") })
                progress(0, "train: starting")
                if stepDelay > 0 { try cancellation.sleep(seconds: stepDelay) }
                let artifacts = try train.init().run(TaskRequest(image: input.image, parameters: parameters), context: context)
                guard let model = artifacts.first(where: { $0.kind == .model }) else {
                    throw TaskError("the train task produced no model file")
                }
                return model.url
            }
            logger.info(trained ? "model.trained" : "model.cached", metadata: [
                "model": "\(url.path)", "duration": "\(Self.seconds(since: started))"])
            return (url, trained)
        }
    }

    /// Plugins must return existing files inside their work directory.
    private func check(_ artifacts: [TaskArtifact], of step: Step, in work: URL) throws {
        let prefix = work.resolvingSymlinksInPath().standardizedFileURL.path + "/"
        for a in artifacts {
            let path = a.url.resolvingSymlinksInPath().standardizedFileURL.path
            guard path.hasPrefix(prefix), FileManager.default.fileExists(atPath: path) else {
                throw TaskError("task '\(step.task)' returned \(a.url.path), which is not a file in its work directory")
            }
        }
    }

    /// Moves the kept artifacts to their templated names, converting images to the output format.
    /// Every output is made ready in the work folder first, so a failing conversion leaves no
    /// output of the job behind; only renames remain after that.
    private func write(_ kept: [(step: Step, artifacts: [TaskArtifact])], pipeline: Pipeline, input: JobInput) throws -> [URL] {
        var ready: [(file: URL, destination: URL)] = []
        var used = Set<String>()
        let writer = OutputWriter(maxPixels: pipeline.maxPixels, quality: pipeline.output.quality)
        let staging = input.workDirectory.appendingPathComponent("ready")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        for (step, artifacts) in kept {
            for (index, artifact) in artifacts.enumerated() {
                let sourceExt = artifact.url.pathExtension.lowercased()
                let ext = artifact.kind == .image ? (pipeline.output.format ?? sourceExt) : sourceExt
                let name = pipeline.output.name.render([
                    "stem": input.stem, "step": step.name, "index": String(index), "label": artifact.label ?? String(index)])
                let withExt = { (base: String) in ext.isEmpty ? base : base + "." + ext }
                var relative = withExt(name)
                var n = 1
                while used.contains(relative) {
                    // The template does not tell these outputs apart; keep them all.
                    relative = withExt("\(name)-\(n)")
                    n += 1
                }
                used.insert(relative)
                let destination = try RootPath.resolve(relative, under: input.outputDirectory)
                let file = try writer.file(artifact, as: ext, scratch: staging.appendingPathComponent("\(ready.count).\(ext)"))
                ready.append((file, destination))
            }
        }
        for (file, destination) in ready { try FileMoves.moveAtomically(file, to: destination) }
        return ready.map(\.destination)
    }
}
