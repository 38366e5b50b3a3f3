import ArgumentParser
import Plugins

/// `singan harmonize MODEL --reference IMG --mask IMG --scale K -o OUT`.
struct HarmonizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "harmonize",
        abstract: "Blend a naively pasted object into a model's training image.",
        discussion: """
            REFERENCE is the training image with an object pasted into it; MASK is white where the \
            object is. Both are resized to the training image if their size differs. The reference \
            is injected at scale K (1 = coarsest that can be injected, N = finest); the result is \
            kept inside the mask dilated by 7 px and blurred, the training image elsewhere.
            """)

    @Argument(help: "The model file (from `singan train`).")
    var model: String

    @Option(help: "The naively pasted image.")
    var reference: String

    @Option(help: "The mask: white where the object was pasted.")
    var mask: String

    @Option(help: "Injection scale, 1...N.")
    var scale: Int

    @Option(name: .shortAndLong, help: "The output image (PNG, JPEG, WebP or TIFF).")
    var output: String

    @Option(help: "Random seed (default: a new one each run).")
    var seed: Int?

    func validate() throws {
        try TaskInvocation.checkOutput(output, option: "--output", allowed: TaskInvocation.imageExtensions)
    }

    func run() throws {
        var parameters: [String: ParameterValue] = ["scale": .int(scale)]
        if let seed { parameters["seed"] = .int(seed) }
        try TaskInvocation(task: HarmonizePlugin.name, model: model,
                           sideInputs: ["reference": reference, "mask": mask], parameters: parameters)
            .run { _ in output }
    }
}
