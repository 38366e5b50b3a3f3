import ArgumentParser
import Plugins

/// `singan paint MODEL --paint IMG --scale K -o OUT [--quantize]`.
struct PaintCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "paint",
        abstract: "Turn a paint or clip art into an image with a model's textures.",
        discussion: """
            The paint is resized to scale K-1, upsampled to scale K and refined by the generators \
            K...N. With --quantize, the paint is mapped to a 5-colour k-means palette of the \
            training image at scale K and generator K is fine-tuned on such inputs first (with \
            the --preset's iterations, or --iters); the model file is not changed.
            """)

    @Argument(help: "The model file (from `singan train`).")
    var model: String

    @Option(help: "The paint or clip-art image.")
    var paint: String

    @Option(help: "Injection scale, 1...N (1 or 2 usually).")
    var scale: Int = 1

    @Option(name: .shortAndLong, help: "The output image (PNG, JPEG, WebP or TIFF).")
    var output: String

    @Flag(help: "Quantise the paint to the training image's colours and fine-tune the injection scale.")
    var quantize = false

    @OptionGroup(title: "Fine-tuning (with --quantize)")
    var training: TrainingOptions

    @Option(help: "Random seed (default: a new one each run).")
    var seed: Int?

    func validate() throws {
        try TaskInvocation.checkOutput(output, option: "--output", allowed: TaskInvocation.imageExtensions)
    }

    func run() throws {
        var parameters = training.parameters
        parameters["scale"] = .int(scale)
        parameters["quantize"] = .bool(quantize)
        if let seed { parameters["seed"] = .int(seed) }
        try TaskInvocation(task: PaintPlugin.name, image: paint, model: model, parameters: parameters)
            .run { _ in output }
    }
}
