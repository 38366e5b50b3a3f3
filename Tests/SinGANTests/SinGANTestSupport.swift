import Engine
import Foundation
import SinGAN
import XCTest

/// A tiny SinGAN run shared by the SinGAN tests: a 48x40 crop of balloons.png, 4 scales of 8
/// channels, 30 iterations per scale. Trained once per test process.
enum TinySinGAN {
    static var imagePath: String {
        Bundle.module.path(forResource: "balloons_48x40", ofType: "png", inDirectory: "Resources")!
    }

    static var config: TrainingConfig {
        var c = TrainingConfig.quick
        c.maxSize = 48
        c.minSize = 24
        c.baseChannels = 8
        c.maxChannels = 16
        c.iterations = 30
        c.checkpointInterval = 10
        c.seed = 7
        return c
    }

    static func pyramid(_ config: TrainingConfig = config) throws -> ImagePyramid {
        try ImagePyramid(imageAt: imagePath, config: config)
    }

    /// The result of the straight (uninterrupted) run.
    struct Run {
        let model: SinGANModel
        let modelPath: String
        let progress: [TrainingProgress]
        let log: TrainingLog
    }

    /// Trained on first use.
    static let straight: Result<Run, Error> = Result {
        let path = temporaryPath("straight.singan")
        let trainer = try SinGANTrainer(pyramid: try pyramid(), config: config)
        trainer.checkpointPath = path
        var progress: [TrainingProgress] = []
        trainer.progress = { progress.append($0) }
        let model = try trainer.train()
        return Run(model: model, modelPath: path, progress: progress, log: trainer.log)
    }

    /// A path in this test process's own folder, which is removed when the process exits.
    static func temporaryPath(_ name: String) -> String {
        try? FileManager.default.createDirectory(at: processFolder, withIntermediateDirectories: true)
        return processFolder.appendingPathComponent(name).path
    }

    private static let processFolder: URL = {
        atexit { try? FileManager.default.removeItem(at: TinySinGAN.processFolderURL) }
        return processFolderURL
    }()

    private static var processFolderURL: URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("singan-tests-\(getpid())")
    }
}
