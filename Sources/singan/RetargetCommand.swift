import ArgumentParser
import Foundation
import Plugins

/// `singan retarget IMAGE --size WxH -o OUT`: the image at another size, by the `retarget` plugin.
struct RetargetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retarget",
        abstract: "Write an image at another size or aspect, rebuilt from its own patches, with no training.",
        discussion: """
            The image's layout is stretched to the new size at the coarsest level, then every \
            7x7 patch is replaced by its nearest patch of the image, coarse to fine, so objects \
            keep their size and texture instead of stretching. --structure K keeps the layout \
            from K levels up (higher: closer to a plain resize). Sides from 7 to --max-side. The \
            same image, options and seed give the same bytes. Exits 1 with the reason on error, \
            writing nothing.
            """)

    @Argument(help: "The image (PNG, JPEG, WebP, TIFF or GIF).")
    var image: String

    @Option(help: "Output size as WIDTHxHEIGHT, e.g. 500x186.")
    var size: String

    @Option(name: .shortAndLong, help: "The output image (PNG, JPEG, WebP or TIFF).")
    var output: String

    @Option(help: "Levels, counted from the coarsest, that keep the image's layout (0...).")
    var structure: Int = 0

    @Option(help: "Grey noise at the coarsest level, 0...5 (pixel values in 0...1); each level of --structure keeps 0.65 of it.")
    var noise: Double = 0.1

    @Option(help: "Refuse outputs longer than this on a side.")
    var maxSide: Int = 4096

    @Option(help: "Random seed, 0...2147483647.")
    var seed: Int = 0

    /// `--size` as numbers.
    private var dimensions: (width: Int, height: Int)? {
        let parts = size.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]) else { return nil }
        return (w, h)
    }

    func validate() throws {
        guard dimensions != nil else { throw ValidationError("--size \(size): expected WIDTHxHEIGHT, e.g. 500x186") }
        try TaskInvocation.checkOutput(output, option: "--output", allowed: TaskInvocation.imageExtensions)
    }

    func run() throws {
        let (width, height) = dimensions!
        let parameters: [String: ParameterValue] = [
            "width": .int(width), "height": .int(height), "structure": .int(structure), "noise": .double(noise),
            "max_side": .int(maxSide), "seed": .int(seed),
        ]
        let invocation = TaskInvocation(task: RetargetPlugin.name, image: image, parameters: parameters)
        try invocation.run(destination: { _ in output })
    }
}
