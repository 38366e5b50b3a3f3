import Engine
import Foundation
import Logging
import SinGAN
import Vips

/// Shared steps of the SinGAN task plugins: loading models and images, writing results,
/// seeding, presets and training with checkpoints.
enum SinGANTask {
    /// The model file of `request`, loaded through the shared cache.
    static func model(_ request: TaskRequest, context: TaskContext, task: String) throws -> SinGANModel {
        guard let url = request.model else { throw TaskError("\(task) needs a model file (train one with `singan train`)") }
        do {
            return try context.models.model(at: url, as: SinGANModel.self) { try SinGANModel.load(from: $0.path) }
        } catch {
            throw TaskError(task: task, context: "model \(url.lastPathComponent)", underlying: error)
        }
    }

    /// The model file of `request` and the `start_scale` parameter (of `sample` and `animate`),
    /// which must name one of the model's scales.
    static func modelWithStartScale(_ request: TaskRequest, context: TaskContext,
                                    task: String) throws -> (model: SinGANModel, startScale: Int) {
        let model = try model(request, context: context, task: task)
        let scale = request.parameters.int("start_scale")
        guard scale <= model.finest else {
            throw TaskError(task: task, "start scale \(scale) is out of range: this model has \(model.count) scales, so it must be in 0...\(model.finest)")
        }
        return (model, scale)
    }

    /// The side input `name`, which must be present.
    static func side(_ name: String, of request: TaskRequest, task: String) throws -> URL {
        guard let url = request.sideInputs[name] else { throw TaskError("\(task) needs the side input '\(name)'") }
        return url
    }

    /// An image file as an [1, 3, h, w] tensor in [-1, 1] (alpha flattened onto white, grey made
    /// RGB); its errors name `task`, the image's `role` and its file.
    static func loadImage(_ url: URL, role: String, task: String, context: TaskContext) throws -> Tensor {
        do {
            let image = try VipsImage.load(path: url.path, maxPixels: context.maxPixels).normalizedSRGB()
            return Tensor(shape: [1, 3, image.height, image.width], scalars: try image.planarFloats())
        } catch {
            throw TaskError(task: task, context: "\(role) \(url.lastPathComponent)", underlying: error)
        }
    }

    /// An [1, 3, h, w] tensor as an 8-bit sRGB image.
    static func vipsImage(_ t: Tensor) throws -> VipsImage {
        try VipsImage.fromPlanarFloats(t.scalars, width: t.shape[3], height: t.shape[2], channels: t.shape[1])
    }

    /// Writes an [1, 3, h, w] tensor as a PNG in the work directory.
    static func writeImage(_ t: Tensor, named name: String, context: TaskContext, label: String? = nil) throws -> TaskArtifact {
        let url = context.outputURL(name)
        try vipsImage(t).save(to: url.path)
        return TaskArtifact(url, kind: .image, label: label)
    }

    /// The random generator of a run: seeded by the `seed` parameter, or randomly when absent.
    static func rng(_ parameters: ParameterValues) -> RandomGenerator {
        RandomGenerator(seed: parameters.optionalInt("seed").map { UInt64(truncatingIfNeeded: $0) }
                        ?? UInt64.random(in: 0...UInt64.max))
    }

    /// The `seed` parameter of every task that draws noise.
    static let seedParameter = Parameter.int("seed", range: 0...Int(Int32.max), "random seed (default: a new one each run)")

    /// The `preset` parameter of tasks that train.
    static let presetParameter = Parameter.choice("preset", TrainingConfig.presetNames, default: "paper",
                                                  "training preset: paper (published settings), fast (full size in minutes) or quick (demo)")

    /// The `iterations` parameter of tasks that train.
    static let iterationsParameter = Parameter.int("iterations", range: 1...100_000,
                                                   "iterations per scale (default: the preset's; with fast, of the finer scales, the coarse ones keeping their proportion)")

    /// The preset named by the `preset` parameter, with `iterations` applied if given.
    static func config(_ parameters: ParameterValues) -> TrainingConfig {
        var c = TrainingConfig.preset(named: parameters.string("preset")) ?? .paper
        if let n = parameters.optionalInt("iterations") { c.setIterations(n) }
        return c
    }

    /// Trains a model on `image` with `config`, checkpointing as `context.checkpointPolicy` says
    /// (by default under `checkpointName` in `context.checkpointDirectory`, resuming from a
    /// checkpoint left there by an interrupted run of the same configuration). Progress goes to the
    /// context; cancellation writes a checkpoint and throws `TaskCancelled`. Errors are the
    /// library's (they name the file they concern), wrapped in a `TaskError` naming `task`.
    static func train(image: URL, config: TrainingConfig, context: TaskContext, checkpointName: String,
                      task: String) throws -> SinGANModel {
        let policy = context.checkpointPolicy
        let checkpoint = policy.file ?? context.checkpointDirectory.appendingPathComponent(checkpointName).path
        // The image as its runner named it, so that training's messages name the file as the user
        // typed it: relative to the working directory if the runner made it so (`singan train`),
        // else the full path.
        let imagePath = URL(fileURLWithPath: image.relativePath).path == image.path ? image.relativePath : image.path
        // The position reached, logged when the run stops (where it checkpointed) and when a
        // resumed run takes its first step (where it continues): the two lines match.
        var position: Logger.Metadata?
        do {
            let trainer: SinGANTrainer
            switch policy.start {
            case .resume(let check):
                let resumed = try SinGANTrainer.configuration(ofCheckpointAt: checkpoint)
                try check(resumed)
                trainer = try SinGANTrainer(resumingFrom: checkpoint, pyramid: try ImagePyramid(imageAt: imagePath, config: resumed))
            case .new:
                try config.validate()
                trainer = try SinGANTrainer(pyramid: try ImagePyramid(imageAt: imagePath, config: config), config: config)
                trainer.checkpointPath = checkpoint
            case .resumeMatching:
                try config.validate()
                let pyramid = try ImagePyramid(imageAt: imagePath, config: config)
                if FileManager.default.fileExists(atPath: checkpoint),
                   let resumed = try? SinGANTrainer(resumingFrom: checkpoint, pyramid: pyramid), resumed.config == config {
                    trainer = resumed
                } else if FileManager.default.fileExists(atPath: checkpoint),
                          let finished = try? SinGANModel.load(from: checkpoint), finished.config == config,
                          finished.sizes == pyramid.geometry.sizes,
                          zip(finished.scales, pyramid.reals).allSatisfy({ $0.real.scalars == $1.scalars }) {
                    // An earlier run finished but stopped before handing its model over.
                    return finished
                } else {
                    try? FileManager.default.removeItem(atPath: checkpoint)
                    trainer = try SinGANTrainer(pyramid: pyramid, config: config)
                    trainer.checkpointPath = checkpoint
                }
            }
            policy.willTrain(trainer)
            trainer.shouldStop = { context.cancellation.isCancelled }
            var resumeToLog = trainer.resumed
            trainer.progress = { p in
                position = ["scale": "\(p.scale + 1)/\(p.scaleCount)", "iteration": "\(p.iteration)/\(p.iterations)"]
                if resumeToLog {
                    resumeToLog = false
                    context.logger.info("train.resumed", metadata: [
                        "scale": "\(p.scale + 1)/\(p.scaleCount)", "iteration": "\(p.iteration - 1)/\(p.iterations)"])
                }
                if p.iteration == p.iterations {
                    // sigma beside the lowest it can be: far above it means poor reconstruction.
                    context.logger.info("train.scale", metadata: [
                        "scale": "\(p.scale + 1)/\(p.scaleCount)", "sigma": "\(p.noiseAmplitude)",
                        "floor": "\(p.noiseFloor.map { "\($0)" } ?? "-")"])
                }
                context.report(TaskProgress(training: p))
            }
            return try trainer.train()
        } catch SinGANError.cancelled {
            context.logger.info("train.checkpointed", metadata: position ?? [:])
            throw TaskCancelled()
        } catch let error as TaskError {
            throw error
        } catch {
            throw TaskError(task: task, underlying: error)
        }
    }

    /// Runs `body`, wrapping a library's error in a task error that names the task (and keeps
    /// the error as `underlying`); a library's cancellation becomes `TaskCancelled`.
    static func guarded<T>(_ task: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as TaskError { throw error } catch let error as TaskCancelled {
            throw error
        } catch SinGANError.cancelled {
            throw TaskCancelled()
        } catch {
            throw TaskError(task: task, underlying: error)
        }
    }
}
