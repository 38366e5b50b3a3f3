import ArgumentParser
import AtomicFile
import Foundation
import Plugins
import SinGAN

/// `singan train IMAGE -o MODEL`: trains a SinGAN on one image.
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
            iterations per scale: for demos and tests). Options override the preset.

            MODEL is rewritten atomically after every scale and every 100 iterations; it holds a \
            resumable checkpoint until training ends, then the finished model. Ctrl-C or SIGTERM \
            writes a checkpoint and exits with 130 or 143; `--resume` continues from MODEL and \
            gives the same model, bit for bit, as an uninterrupted run. Without `--resume` an \
            existing MODEL is overwritten. Other failures exit with 1.
            """)

    @Argument(help: "The training image (PNG, JPEG, WebP, TIFF or GIF). Alpha is flattened onto white.")
    var image: String

    @Option(name: .shortAndLong, help: "The model file to write (safetensors layout).")
    var output: String

    @Option(help: "paper (the published settings, hours at 250 px), fast (250 px in minutes) or quick (a 64 px demo).")
    var preset: String = "paper"

    @Option(help: "Longer side of the working image, in pixels.")
    var maxSize: Int?

    @Option(help: "Shorter side of the coarsest scale, in pixels.")
    var minSize: Int?

    @Option(help: "Initial pyramid factor, in (0, 1).")
    var scaleFactor: Double?

    @Option(help: "Width (channels) of scales 0-3; doubles every 4 scales up to --max-channels.")
    var channels: Int?

    @Option(help: "Upper bound of the width.")
    var maxChannels: Int?

    @Option(name: .customLong("iters"), help: "Iterations per scale (with fast: of the finer scales; the coarse ones keep their proportion).")
    var iterations: Int?

    @Option(help: "Seed of the run's random generator.")
    var seed: UInt64?

    @Option(name: .customLong("z-star"), help: "Scale 0's reconstruction noise: redrawn (every iteration, as the authors' release; default) or fixed (the paper's text).")
    var zStar: ZStarMode?

    @Flag(help: "Draw noise at the padded size instead of zero-padding it (for animation models).")
    var noisePadding = false

    @Option(help: "Weight alpha of the reconstruction loss (default 10; 100 for super-resolution).")
    var reconstructionWeight: Float?

    @Option(help: "Write a JSON report (per scale: size, width, noise amplitude, seconds, final losses).")
    var report: String?

    @Flag(help: "Continue the interrupted run whose checkpoint is MODEL.")
    var resume = false

    @Option(help: "When stderr is not a terminal: seconds between progress log lines (0: every iteration).")
    var logInterval: Double = 5

    func run() throws {
        let stop = StopSignals()
        let started = Date()
        do {
            guard logInterval >= 0, logInterval.isFinite else {
                throw SinGANError.invalidConfiguration(parameter: "log-interval", reason: "must be 0 or more seconds, got \(logInterval)")
            }
            // Checked before any work: an unwritable model or report path must not cost a whole run.
            try OutputPaths.requireWritableFolder(for: output)
            if let report { try OutputPaths.requireWritableFolder(for: report) }
            let trainer = try makeTrainer()
            // A process killed while writing MODEL left its hidden temporary; this run owns MODEL now.
            for file in AtomicFile.removeTemporaries(of: output) {
                FileHandle.standardError.write(Data("singan train: removed \(file), left by an interrupted write\n".utf8))
            }
            let printer = ProgressPrinter(task: "train", logInterval: logInterval)
            trainer.progress = { printer.show($0) }
            trainer.shouldStop = { stop.received != nil }
            let model = try trainer.train()
            printer.finish()
            let seconds = Date().timeIntervalSince(started)
            print("trained \(model.count) scales (\(model.sizes.last!) px) in \(formatDuration(seconds)) -> \(output)")
            if let report {
                let r = TrainingReport(image: image, model: output, inputSize: model.geometry.input,
                                       config: model.config, scales: trainer.log.scales,
                                       totalSeconds: trainer.log.scales.reduce(0) { $0 + $1.seconds },
                                       resumed: trainer.resumed)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                do {
                    try AtomicFile.write(try encoder.encode(r), to: report)
                } catch AtomicFileError.writeFailed(_, let reason) {
                    throw SinGANError.writeFailed(path: report, reason: reason)
                }
            }
        } catch SinGANError.cancelled(let checkpoint) {
            ProgressPrinter.clearLine()
            let signal = stop.received ?? SIGINT
            FileHandle.standardError.write(Data("singan train: stopped by \(StopSignals.name(signal)); progress saved in \(checkpoint ?? output), continue with --resume\n".utf8))
            throw ExitCode(128 + signal)
        } catch {
            ProgressPrinter.clearLine()
            FileHandle.standardError.write(Data("singan train: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    /// A trainer for a new run, or for the run in MODEL with `--resume`.
    private func makeTrainer() throws -> SinGANTrainer {
        if resume && FileManager.default.fileExists(atPath: output) {
            let config = try SinGANTrainer.configuration(ofCheckpointAt: output)
            try checkOverrides(against: config)
            let trainer = try SinGANTrainer(resumingFrom: output, pyramid: try ImagePyramid(imageAt: image, config: config))
            FileHandle.standardError.write(Data("singan train: resuming \(output)\n".utf8))
            return trainer
        }
        if resume {
            FileHandle.standardError.write(Data("singan train: \(output) does not exist yet, starting a new run\n".utf8))
        }
        let config = try makeConfig()
        let trainer = try SinGANTrainer(pyramid: try ImagePyramid(imageAt: image, config: config), config: config)
        trainer.checkpointPath = output
        return trainer
    }

    /// The preset with the options applied.
    private func makeConfig() throws -> TrainingConfig {
        guard var c = TrainingConfig.preset(named: preset) else {
            throw SinGANError.invalidConfiguration(parameter: "preset", reason: "'\(preset)' is not one of \(TrainingConfig.presetNames.joined(separator: ", "))")
        }
        if let maxSize { c.maxSize = maxSize }
        if let minSize { c.minSize = minSize }
        if let scaleFactor { c.scaleFactor = scaleFactor }
        if let channels { c.baseChannels = channels }
        if let maxChannels { c.maxChannels = maxChannels }
        if let iterations { c.setIterations(iterations) }
        if let seed { c.seed = seed }
        if let zStar { c.zStarMode = zStar }
        if noisePadding { c.noisePadding = true }
        if let reconstructionWeight { c.reconstructionWeight = reconstructionWeight }
        try c.validate()
        return c
    }

    /// With `--resume` the checkpoint's configuration rules; options given must agree with it.
    private func checkOverrides(against c: TrainingConfig) throws {
        var given = try makeConfig()
        given.seed = seed ?? c.seed
        var differences: [String] = []
        if maxSize != nil && given.maxSize != c.maxSize { differences.append("max-size \(c.maxSize)") }
        if minSize != nil && given.minSize != c.minSize { differences.append("min-size \(c.minSize)") }
        if scaleFactor != nil && given.scaleFactor != c.scaleFactor { differences.append("scale-factor \(c.scaleFactor)") }
        if iterations != nil && given.iterations != c.iterations { differences.append("iters \(c.iterations)") }
        if channels != nil && given.baseChannels != c.baseChannels { differences.append("channels \(c.baseChannels)") }
        if maxChannels != nil && given.maxChannels != c.maxChannels { differences.append("max-channels \(c.maxChannels)") }
        if seed != nil && given.seed != c.seed { differences.append("seed \(c.seed)") }
        if zStar != nil && given.zStarMode != c.zStarMode { differences.append("z-star \(c.zStarMode.rawValue)") }
        if noisePadding && !c.noisePadding { differences.append("no noise padding") }
        if reconstructionWeight != nil && given.reconstructionWeight != c.reconstructionWeight {
            differences.append("reconstruction-weight \(c.reconstructionWeight)")
        }
        if !differences.isEmpty {
            throw SinGANError.resumeMismatch(path: output,
                reason: "the checkpoint was started with \(differences.joined(separator: ", ")); drop those options or start anew without --resume")
        }
    }
}

extension ZStarMode: ExpressibleByArgument {}
