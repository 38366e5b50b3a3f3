import ArgumentParser
import AtomicFile
import Foundation
import Plugins
import SinGAN

/// `singan train IMAGE -o MODEL`: trains a SinGAN on one image, by the `train` task plugin (the
/// one pipelines use), checkpointing into MODEL.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a SinGAN model on one image.",
        discussion: """
            Presets: `paper` (the published defaults: max size 250, min size 25, scale factor 0.75, \
            2000 iterations per scale, widths 32/64/128), `fast` (the paper's pyramid in minutes: \
            width 32, 1 critic and 1 generator step per iteration, 2000 iterations at the four \
            coarsest scales (if at most 80 px) and 600 at finer ones, trained on random 64 px \
            windows, a bank of 16 \
            random inputs, a lazy gradient penalty; --iters sets the finer scales' count and keeps \
            the proportion) and `quick` (max size 64, min size 20, width 32 at every scale, 150 \
            iterations per scale: for demos and tests). Options override the preset; they are the \
            train task's parameters (`singan tasks`), with the same ranges.

            MODEL is rewritten atomically after every scale and every 100 iterations; it holds a \
            resumable checkpoint until training ends, then the finished model. Its folder must \
            exist. Ctrl-C or SIGTERM writes a checkpoint and exits with 130 or 143; `--resume` \
            continues from MODEL with the settings it was started with (options given must agree \
            with them) and gives the same model, bit for bit, as an uninterrupted run. Without \
            `--resume` an existing MODEL is overwritten once training starts. Other failures exit \
            with 1.
            """)

    @Argument(help: "The training image (PNG, JPEG, WebP, TIFF or GIF). Alpha is flattened onto white.")
    var image: String

    @Option(name: .shortAndLong, help: "The model file to write (safetensors layout).")
    var output: String

    @Option(help: ArgumentHelp(TrainPlugin.self, parameter: "preset"))
    var preset: String = "paper"

    @Option(help: ArgumentHelp(TrainPlugin.self, parameter: "max_size"))
    var maxSize: Int?

    @Option(help: ArgumentHelp(TrainPlugin.self, parameter: "min_size"))
    var minSize: Int?

    @Option(help: ArgumentHelp(TrainPlugin.self, parameter: "scale_factor"))
    var scaleFactor: Double?

    @Option(help: ArgumentHelp(TrainPlugin.self, parameter: "channels"))
    var channels: Int?

    @Option(help: ArgumentHelp(TrainPlugin.self, parameter: "max_channels"))
    var maxChannels: Int?

    @Option(help: ArgumentHelp(TrainPlugin.self, parameter: "crop_size"))
    var cropSize: Int?

    @Option(name: .customLong("iters"), help: ArgumentHelp(TrainPlugin.self, parameter: "iterations"))
    var iterations: Int?

    @Option(help: ArgumentHelp(TrainPlugin.self, parameter: "seed"))
    var seed: UInt64?

    @Option(name: .customLong("z-star"), help: ArgumentHelp(TrainPlugin.self, parameter: "z_star"))
    var zStar: ZStarMode?

    @Option(help: ArgumentHelp(TrainPlugin.self, parameter: "upsampling"))
    var upsampling: Upsampling?

    @Flag(help: ArgumentHelp(TrainPlugin.self, parameter: "noise_padding"))
    var noisePadding = false

    @Option(help: ArgumentHelp(TrainPlugin.self, parameter: "reconstruction_weight"))
    var reconstructionWeight: Double?

    @Option(help: "Write a JSON report (per scale: size, width, noise amplitude, seconds, final losses).")
    var report: String?

    @Flag(help: "Continue the interrupted run whose checkpoint is MODEL.")
    var resume = false

    @Option(help: "When stderr is not a terminal: seconds between progress log lines (0: every iteration).")
    var logInterval: Double = 5

    /// The train task's parameters the options give (the task's defaults fill in the rest).
    private var parameters: [String: ParameterValue] {
        var p: [String: ParameterValue] = ["preset": .string(preset)]
        if let iterations { p["iterations"] = .int(iterations) }
        if let maxSize { p["max_size"] = .int(maxSize) }
        if let minSize { p["min_size"] = .int(minSize) }
        if let scaleFactor { p["scale_factor"] = .double(scaleFactor) }
        if let channels { p["channels"] = .int(channels) }
        if let maxChannels { p["max_channels"] = .int(maxChannels) }
        if let cropSize { p["crop_size"] = .int(cropSize) }
        if let reconstructionWeight { p["reconstruction_weight"] = .double(reconstructionWeight) }
        if noisePadding { p["noise_padding"] = .bool(true) }
        if let zStar { p["z_star"] = .string(zStar.rawValue) }
        if let upsampling { p["upsampling"] = .string(upsampling.rawValue) }
        // Out of Int's range is out of the parameter's too: the task refuses it by name.
        if let seed { p["seed"] = .int(Int(clamping: seed)) }
        return p
    }

    func run() throws {
        let started = Date()
        let resuming = resume && FileManager.default.fileExists(atPath: output)
        let parameters = parameters
        var trainer: SinGANTrainer?
        var invocation = TaskInvocation(task: TrainPlugin.name, image: image, parameters: parameters)
        // Training reports an unusable image itself, naming the file as it was typed.
        invocation.checksImage = false
        invocation.logInterval = logInterval
        invocation.stopNote = "progress saved in \(output), continue with --resume"
        invocation.checkpointPolicy = CheckpointPolicy(
            start: resuming ? .resume(check: { try checkAgreement(of: parameters, with: $0) }) : .new,
            file: output,
            willTrain: { ready in
                trainer = ready
                if ready.resumed { Self.say("resuming \(output)") }
                // A process killed while writing MODEL left its hidden temporary; this run owns MODEL now.
                for file in AtomicFile.removeTemporaries(of: output) { Self.say("removed \(file), left by an interrupted write") }
            })
        try invocation.run(prepare: {
            guard logInterval >= 0, logInterval.isFinite else {
                throw SinGANError.invalidConfiguration(parameter: "log-interval", reason: "must be 0 or more seconds, got \(logInterval)")
            }
            // Checked before any work: an unwritable model or report path must not cost a whole run.
            try OutputPaths.requireWritableFolder(for: output)
            if let report { try OutputPaths.requireWritableFolder(for: report) }
            if resume && !resuming { Self.say("\(output) does not exist yet, starting a new run") }
        }, destination: { _ in
            // The trainer wrote the finished model into MODEL, its checkpoint file.
            nil
        }, summary: { _ in
            guard let trainer else { preconditionFailure("the train task returned without training") }
            if let report { try write(report, of: trainer) }
            let sizes = trainer.pyramid.geometry.sizes
            return "trained \(sizes.count) scales (\(sizes.last!) px) in \(formatDuration(Date().timeIntervalSince(started))) -> \(output)"
        })
    }

    /// With `--resume` the checkpoint's configuration rules; options given must agree with it.
    private func checkAgreement(of parameters: [String: ParameterValue], with c: TrainingConfig) throws {
        let conflicts = try TrainPlugin.conflicts(parameters, with: c)
        guard !conflicts.isEmpty else { return }
        let options = conflicts.map { conflict in
            let option = conflict.parameter == "iterations" ? "iters" : conflict.parameter.replacingOccurrences(of: "_", with: "-")
            return "--\(option) \(conflict.checkpointValue)"
        }
        throw SinGANError.resumeMismatch(path: output,
            reason: "the checkpoint was started with \(options.joined(separator: ", ")); drop those options or start anew without --resume")
    }

    /// The `--report` JSON: the trainer's per-scale log, and whether this run resumed another.
    private func write(_ report: String, of trainer: SinGANTrainer) throws {
        let r = TrainingReport(image: image, model: output, inputSize: trainer.pyramid.geometry.input,
                               config: trainer.config, scales: trainer.log.scales,
                               totalSeconds: trainer.log.scales.reduce(0) { $0 + $1.seconds }, resumed: trainer.resumed)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            try AtomicFile.write(try encoder.encode(r), to: report)
        } catch AtomicFileError.writeFailed(_, let reason) {
            throw SinGANError.writeFailed(path: report, reason: reason)
        }
    }

    private static func say(_ line: String) {
        FileHandle.standardError.write(Data("singan train: \(line)\n".utf8))
    }
}

extension ZStarMode: ExpressibleByArgument {}
extension Upsampling: ExpressibleByArgument {}
