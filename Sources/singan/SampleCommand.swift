import ArgumentParser
import Foundation
import PyramidModel
import Vips

/// `singan sample MODEL -o DIR`: random samples of a trained model.
struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Write random samples of a trained SinGAN model.",
        discussion: """
            Scales below --start-scale follow the reconstruction path (z*, then zero noise); \
            scales from it on get fresh noise, so a higher start scale keeps more of the \
            training image's layout. --scale-h / --scale-v multiply the output's width / height \
            (from any start scale). The same model, options and seed give the same bytes. \
            Files are named sample_000.png, sample_001.png, ... Exits 1 with the reason on error.
            """)

    @Argument(help: "A model file written by `singan train`.")
    var model: String

    @Option(name: .shortAndLong, help: "Output directory (created if missing).")
    var output: String

    @Option(name: .short, help: "Number of samples.")
    var n: Int = 10

    @Option(help: "First scale with fresh noise (0 = coarsest).")
    var startScale: Int = 0

    @Option(help: "Horizontal size factor.")
    var scaleH: Double = 1

    @Option(help: "Vertical size factor.")
    var scaleV: Double = 1

    @Option(help: "Seed of the noise.")
    var seed: UInt64 = 0

    @Option(help: "png, jpg or webp.")
    var format: String = "png"

    func run() throws {
        do {
            guard ["png", "jpg", "webp"].contains(format) else {
                throw SinGANError.invalidConfiguration(parameter: "format", reason: "'\(format)' is not png, jpg or webp")
            }
            guard n >= 1 else {
                throw SinGANError.invalidConfiguration(parameter: "n", reason: "must be at least 1, got \(n)")
            }
            let singan = try SinGANModel.load(from: model)
            try singan.checkSampleOptions(startScale: startScale, scaleH: scaleH, scaleV: scaleV)
            try OutputPaths.createFolder(output)
            let rng = RandomGenerator(seed: seed)
            let digits = max(3, String(n - 1).count)
            for i in 0..<n {
                let sample = try singan.sample(startScale: startScale, scaleH: scaleH, scaleV: scaleV, rng: rng)
                let image = try VipsImage.fromPlanarFloats(sample.scalars, width: sample.shape[3],
                                                           height: sample.shape[2], channels: 3)
                let number = String(repeating: "0", count: max(0, digits - String(i).count)) + String(i)
                try image.save(to: (output as NSString).appendingPathComponent("sample_\(number).\(format)"))
            }
            print("wrote \(n) samples to \(output)")
        } catch {
            FileHandle.standardError.write(Data("singan sample: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
