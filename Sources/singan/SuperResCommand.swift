import ArgumentParser
import Plugins

/// `singan superres IMAGE -o OUT [--factor F] [--model MODEL]`.
struct SuperResCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "superres",
        abstract: "Upscale an image with a SinGAN of its own patches.",
        discussion: """
            Without --model, a model is first trained on IMAGE (reconstruction weight 100, min \
            size 18, pyramid factor F^(-1/k) close to 2^(-1/3), with the --preset's other \
            settings). IMAGE is then upsampled in k = round(log F / log 2^(1/3)) steps, each \
            refined by the finest generator; the output is exactly round(F x size).
            """)

    @Argument(help: "The low-resolution image.")
    var image: String

    @Option(name: .shortAndLong, help: "The output image (PNG, JPEG, WebP or TIFF).")
    var output: String

    @Option(help: "Upscaling factor, greater than 1.")
    var factor: Double = 4

    @Option(help: "Use this model instead of training one.")
    var model: String?

    @OptionGroup(title: "Training (without --model)")
    var training: TrainingOptions

    @Option(help: "Random seed (default: a new one each run; training uses 0 unless given).")
    var seed: Int?

    func validate() throws {
        try TaskInvocation.checkOutput(output, option: "--output", allowed: TaskInvocation.imageExtensions)
    }

    func run() throws {
        var parameters = training.parameters
        parameters["factor"] = .double(factor)
        if let seed { parameters["seed"] = .int(seed) }
        try TaskInvocation(task: SuperResolutionPlugin.name, image: image, model: model, parameters: parameters)
            .run { _ in output }
    }
}
