import ArgumentParser
import Foundation
import Plugins

/// Runs one registered task plugin for a command line (the same plugin pipelines use): checks the
/// inputs, validates the parameters against the plugin's schema, runs it in a temporary folder
/// and writes its outputs to the requested paths atomically, converting images to the format of
/// the path's extension. Errors go to stderr as `singan TASK: reason` with exit status 1.
struct TaskInvocation {
    let task: String
    var image: String?
    var model: String?
    var sideInputs: [String: String] = [:]
    var parameters: [String: ParameterValue] = [:]
    /// The folder the outputs go into, if they share one: checked before the task runs (it exists
    /// or can be created) and created (`mkdir -p`) once the task succeeded, so a failed run
    /// creates nothing.
    var outputFolder: String?
    /// Whether `image` is checked to be a usable image before the task runs (`singan train`
    /// leaves that to training, whose message names the file as typed).
    var checksImage = true
    /// When stderr is not a terminal: seconds between progress lines.
    var logInterval: Double = 5
    /// Where a training task checkpoints (default: the run's temporary folder, lost with it).
    var checkpointPolicy = CheckpointPolicy()
    /// Said after "stopped by SIGINT" when a signal stopped the task (where its progress is).
    var stopNote: String?

    /// Runs the task; `destination(artifact)` says where each output goes (nil: not written),
    /// called once per output in the plugin's order. Prints `TASK -> PATH` for each output
    /// written, or the one line `summary(paths)` when given. `prepare` runs first: its checks
    /// fail like the task.
    func run(prepare: () throws -> Void = {}, destination: (TaskArtifact) throws -> String?,
             summary: (([String]) throws -> String)? = nil) throws {
        // Ctrl-C or SIGTERM cancels the task at its next safe point (training checkpoints).
        let cancellation = CancellationToken()
        let signals = StopSignals { _ in cancellation.cancel() }
        do {
            try prepare()
            let paths = try execute(destination: destination, cancellation: cancellation)
            if let summary {
                print(try summary(paths))
            } else {
                for path in paths { print("\(task) -> \(path)") }
            }
        } catch is TaskCancelled {
            ProgressPrinter.clearLine()
            let signal = signals.received ?? SIGINT
            let note = stopNote.map { "; \($0)" } ?? ""
            FileHandle.standardError.write(Data("singan \(task): stopped by \(StopSignals.name(signal))\(note)\n".utf8))
            throw ExitCode(128 + signal)
        } catch {
            ProgressPrinter.clearLine()
            // Plugin messages may name their task ("harmonize: ..."); say it once.
            FileHandle.standardError.write(Data("singan \(task): \(TaskError.detail(of: error, namingTask: task))\n".utf8))
            throw ExitCode.failure
        }
    }

    /// Runs the plugin and writes its outputs; returns the paths written.
    private func execute(destination: (TaskArtifact) throws -> String?, cancellation: CancellationToken) throws -> [String] {
        guard let plugin = PluginRegistry.standard.plugin(named: task) else {
            throw TaskError("this build has no '\(task)' task")
        }
        let values = try plugin.parameters.validate(parameters)
        var request = TaskRequest(parameters: values)
        request.image = try image.map { checksImage ? try checkedImage($0, role: "image") : URL(fileURLWithPath: $0) }
        request.model = try model.map { try checkedFile($0, role: "model") }
        for (name, path) in sideInputs { request.sideInputs[name] = try checkedImage(path, role: name) }
        if let outputFolder { try OutputPaths.requireCreatableFolder(outputFolder) }

        let fm = FileManager.default
        let work = fm.temporaryDirectory.appendingPathComponent("singan-\(task)-\(UUID().uuidString.lowercased())")
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: work) }
        let progress = ProgressPrinter(task: task, logInterval: logInterval)
        let context = TaskContext(workDirectory: work, checkpointDirectory: work.appendingPathComponent("checkpoints"),
                                  cancellation: cancellation, checkpointPolicy: checkpointPolicy,
                                  onProgress: { progress.show($0) })
        try fm.createDirectory(at: context.checkpointDirectory, withIntermediateDirectories: true)
        let artifacts = try plugin.init().run(request, context: context)
        progress.finish()
        if let outputFolder { try OutputPaths.createFolder(outputFolder) }
        var written: [String] = []
        for artifact in artifacts {
            guard let path = try destination(artifact) else { continue }
            try OutputWriter().write(artifact, to: path)
            written.append(path)
        }
        return written
    }

    private func checkedFile(_ path: String, role: String) throws -> URL {
        guard FileManager.default.fileExists(atPath: path) else { throw TaskError("\(role) \(path) does not exist") }
        return URL(fileURLWithPath: path).standardizedFileURL
    }

    private func checkedImage(_ path: String, role: String) throws -> URL {
        let url = try checkedFile(path, role: role)
        try OutputWriter().checkUsableImage(url, role: role, name: path)
        return url
    }

    /// Checks before any work that an output path names a format that can be written.
    static func checkOutput(_ path: String, option: String, allowed: [String]) throws {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        guard allowed.contains(ext) else {
            throw ValidationError("\(option) \(path): the extension must be one of \(allowed.map { "." + $0 }.joined(separator: ", "))")
        }
    }

    /// Image formats the commands write.
    static let imageExtensions = ["png", "jpg", "jpeg", "webp", "tif", "tiff"]
}
