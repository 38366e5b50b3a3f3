import ArgumentParser
import Plugins

/// The options `harmonize` and `edit` share: the model, the naive reference and its mask, the
/// injection scale, the output and the seed.
struct MaskedInjectionOptions: ParsableArguments {
    @Argument(help: "The model file (from `singan train`).")
    var model: String

    @Option(help: "The training image with the object pasted in (harmonize) or the edit made (edit), naively.")
    var reference: String

    @Option(help: "The mask: white where the reference differs from the training image.")
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

    /// The run of `task` (harmonize or edit) these options describe.
    func invocation(of task: String) -> TaskInvocation {
        var parameters: [String: ParameterValue] = ["scale": .int(scale)]
        if let seed { parameters["seed"] = .int(seed) }
        return TaskInvocation(task: task, model: model, sideInputs: ["reference": reference, "mask": mask], parameters: parameters)
    }
}

/// `--format` of the commands that write numbered samples into a folder (`sample`,
/// `patch-sample`).
struct SampleFormatOption: ParsableArguments {
    @Option(help: "png, jpg or webp.")
    var format: String = "png"

    func validate() throws {
        guard ["png", "jpg", "webp"].contains(format) else {
            throw ValidationError("--format \(format): must be png, jpg or webp")
        }
    }
}

/// `--preset` and `--iters` of the commands that may train (`superres` without a model, `paint
/// --quantize`), as `singan train` takes them.
struct TrainingOptions: ParsableArguments {
    @Option(help: ArgumentHelp(TrainPlugin.self, parameter: "preset"))
    var preset: String = "paper"

    @Option(name: .customLong("iters"), help: ArgumentHelp(TrainPlugin.self, parameter: "iterations"))
    var iterations: Int?

    /// The `preset` and `iterations` task parameters.
    var parameters: [String: ParameterValue] {
        var values: [String: ParameterValue] = ["preset": .string(preset)]
        if let iterations { values["iterations"] = .int(iterations) }
        return values
    }
}

extension ArgumentHelp {
    /// The help of the option that gives `task`'s parameter `name`: the parameter's description
    /// in the task's schema (the one description of the option) and its range.
    init(_ task: any TaskPlugin.Type, parameter name: String) {
        guard let parameter = task.parameters[name] else { preconditionFailure("the \(task.name) task has no parameter '\(name)'") }
        let summary = parameter.summary.prefix(1).uppercased() + parameter.summary.dropFirst()
        self.init(summary + (parameter.rangeText.map { "; \($0)" } ?? "") + ".")
    }
}
