import ArgumentParser
import Plugins

/// `singan edit MODEL --reference IMG --mask IMG --scale K -o OUT [--unmasked OUT2]`.
struct EditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edit",
        abstract: "Make a rough edit of a model's training image look natural.",
        discussion: """
            REFERENCE is the training image after a naive edit (e.g. a copied region); MASK is \
            white where it was edited. Both are resized to the training image if their size \
            differs. The edit is injected at scale K; OUT keeps the result inside the mask dilated \
            by 20 px and blurred, the training image elsewhere; --unmasked writes the result everywhere.
            """)

    @Argument(help: "The model file (from `singan train`).")
    var model: String

    @Option(help: "The naively edited image.")
    var reference: String

    @Option(help: "The mask: white where the image was edited.")
    var mask: String

    @Option(help: "Injection scale, 1...N.")
    var scale: Int

    @Option(name: .shortAndLong, help: "The masked result (PNG, JPEG, WebP or TIFF).")
    var output: String

    @Option(help: "Also write the unmasked result here.")
    var unmasked: String?

    @Option(help: "Random seed (default: a new one each run).")
    var seed: Int?

    func validate() throws {
        try TaskInvocation.checkOutput(output, option: "--output", allowed: TaskInvocation.imageExtensions)
        if let unmasked { try TaskInvocation.checkOutput(unmasked, option: "--unmasked", allowed: TaskInvocation.imageExtensions) }
    }

    func run() throws {
        var parameters: [String: ParameterValue] = ["scale": .int(scale)]
        if let seed { parameters["seed"] = .int(seed) }
        try TaskInvocation(task: EditPlugin.name, model: model,
                           sideInputs: ["reference": reference, "mask": mask], parameters: parameters)
            .run { $0.label == "unmasked" ? unmasked : output }
    }
}
