import ArgumentParser
import Foundation
import Plugins

/// `singan animate MODEL -o OUT.gif [--frames N] [--fps N] [--alpha A] [--beta B] [--start-scale K]`.
struct AnimateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "animate",
        abstract: "Write a looping animation from a random walk in a model's noise space.",
        discussion: """
            The format follows OUT's extension: .gif or .webp (animated). Models trained with \
            `singan train --noise-padding` (which fixes z*) animate best. Scales below --start-scale keep the \
            training image's layout; alpha pulls the walk back to it, beta is its momentum.
            """)

    @Argument(help: "The model file (from `singan train`).")
    var model: String

    @Option(name: .shortAndLong, help: "The animation file (.gif or .webp).")
    var output: String

    @Option(help: "Number of frames.")
    var frames: Int = 100

    @Option(help: "Frames per second.")
    var fps: Double = 10

    @Option(help: "Pull towards the reconstruction, 0...1.")
    var alpha: Double = 0.1

    @Option(help: "Momentum of the walk, 0...1.")
    var beta: Double = 0.9

    @Option(help: "First scale that moves.")
    var startScale: Int = 2

    @Option(help: "Random seed (default: a new one each run).")
    var seed: Int?

    func validate() throws {
        try TaskInvocation.checkOutput(output, option: "--output", allowed: ["gif", "webp"])
    }

    func run() throws {
        var parameters: [String: ParameterValue] = [
            "frames": .int(frames), "fps": .double(fps), "alpha": .double(alpha), "beta": .double(beta),
            "start_scale": .int(startScale),
            "format": .string(URL(fileURLWithPath: output).pathExtension.lowercased()),
        ]
        if let seed { parameters["seed"] = .int(seed) }
        try TaskInvocation(task: AnimatePlugin.name, model: model, parameters: parameters).run { _ in output }
    }
}
