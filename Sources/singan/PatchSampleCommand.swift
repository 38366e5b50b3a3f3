import ArgumentParser
import Foundation
import Plugins

/// `singan patch-sample IMAGE -n N -o DIR`: training-free samples, by the `patch-sample` plugin.
struct PatchSampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patch-sample",
        abstract: "Write random samples of an image rebuilt from its own patches, with no training.",
        discussion: """
            GPNN-class generation: coarse to fine, every 7x7 patch is replaced by its nearest \
            patch of the image (PatchMatch search), from noise at the coarsest level. Seconds per \
            sample, no model. --structure K starts from the image's layout K levels up from the \
            coarsest (14 px) one: higher keeps more of it. --scale-h / --scale-v multiply the \
            output's width / height. The same image, options and seed give the same bytes. Files \
            are named patch_sample_000.png, ...; the folder is created once the samples are drawn, \
            so a failed run creates nothing. Exits 1 with the reason on error.
            """)

    @Argument(help: "The image (PNG, JPEG, WebP, TIFF or GIF).")
    var image: String

    @Option(name: .shortAndLong, help: "Output directory (created if missing).")
    var output: String

    @Option(name: .short, help: "Number of samples, 1...1000.")
    var n: Int = 10

    @Option(help: "Levels, counted from the coarsest, that keep the image's layout (0...).")
    var structure: Int = 0

    @Option(help: "Horizontal size factor, 0.1...10.")
    var scaleH: Double = 1

    @Option(help: "Vertical size factor, 0.1...10.")
    var scaleV: Double = 1

    @Option(help: "Grey noise at the coarsest level, 0...5 (pixel values in 0...1); each level of --structure keeps 0.65 of it.")
    var noise: Double = 0.75

    @Option(help: "Refuse outputs longer than this on a side.")
    var maxSide: Int = 4096

    @Flag(help: "Exact nearest patches by brute force: the reference for the approximate search, slow.")
    var exact = false

    @Option(help: "Seed of the noise, 0...2147483647.")
    var seed: UInt64 = 0

    @OptionGroup var format: SampleFormatOption

    func run() throws {
        let parameters: [String: ParameterValue] = [
            "count": .int(n), "structure": .int(structure), "scale_h": .double(scaleH), "scale_v": .double(scaleV),
            "noise": .double(noise), "max_side": .int(maxSide),
            "search": .string(exact ? "exact" : "patchmatch"),
            // Out of Int's range is out of the parameter's too: the plugin refuses it by name.
            "seed": .int(Int(clamping: seed)),
        ]
        let digits = max(3, String(n - 1).count)
        var index = 0
        let invocation = TaskInvocation(task: PatchSamplePlugin.name, image: image, parameters: parameters,
                                        outputFolder: output)
        try invocation.run(destination: { _ in
            let number = String(repeating: "0", count: max(0, digits - String(index).count)) + String(index)
            index += 1
            return (output as NSString).appendingPathComponent("patch_sample_\(number).\(format.format)")
        }, summary: { paths in "wrote \(paths.count) samples to \(output)" })
    }
}
