import ArgumentParser
import Foundation
import Plugins

/// `singan sample MODEL -o DIR`: random samples of a trained model, by the `sample` task plugin.
struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Write random samples of a trained SinGAN model.",
        discussion: """
            Scales below --start-scale follow the reconstruction path (z*, then zero noise); \
            scales from it on get fresh noise, so a higher start scale keeps more of the \
            training image's layout. --scale-h / --scale-v multiply the output's width / height \
            (from any start scale). The same model, options and seed give the same bytes. \
            Files are named sample_000.png, sample_001.png, ... The folder is created once the \
            samples are drawn, so a failed run creates nothing. Exits 1 with the reason on error.
            """)

    @Argument(help: "A model file written by `singan train`.")
    var model: String

    @Option(name: .shortAndLong, help: "Output directory (created if missing).")
    var output: String

    @Option(name: .short, help: "Number of samples, 1...1000.")
    var n: Int = 10

    @Option(help: "First scale with fresh noise (0 = coarsest).")
    var startScale: Int = 0

    @Option(help: "Horizontal size factor, 0.1...10.")
    var scaleH: Double = 1

    @Option(help: "Vertical size factor, 0.1...10.")
    var scaleV: Double = 1

    @Option(help: "Seed of the noise, 0...2147483647.")
    var seed: UInt64 = 0

    @OptionGroup var format: SampleFormatOption

    func run() throws {
        let parameters: [String: ParameterValue] = [
            "count": .int(n), "start_scale": .int(startScale), "scale_h": .double(scaleH), "scale_v": .double(scaleV),
            // Out of Int's range is out of the parameter's too: the plugin refuses it by name.
            "seed": .int(Int(clamping: seed)),
        ]
        let digits = max(3, String(n - 1).count)
        var index = 0
        let invocation = TaskInvocation(task: SamplePlugin.name, model: model, parameters: parameters, outputFolder: output)
        try invocation.run(destination: { _ in
            let number = String(repeating: "0", count: max(0, digits - String(index).count)) + String(index)
            index += 1
            return (output as NSString).appendingPathComponent("sample_\(number).\(format.format)")
        }, summary: { paths in "wrote \(paths.count) samples to \(output)" })
    }
}
