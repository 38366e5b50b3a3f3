import Foundation
import Plugins
import Vips

/// Plugins defined for the daemon's tests, shaped like the planned SinGAN tasks.
enum TestPlugins {
    static let registry = PluginRegistry([ResizePlugin.self, FakeTrain.self, Sample.self, Edit.self])

    /// Writes a solid image of `value` in [-1, 1].
    static func solid(_ value: Float, to url: URL, size: Int = 8) throws {
        try VipsImage.fromPlanarFloats([Float](repeating: value, count: 3 * size * size), width: size, height: size, channels: 3)
            .save(to: url.path)
    }
}

/// "Trains" by recording the image's mean grey level in a text model file, and counts its runs.
struct FakeTrain: TaskPlugin {
    static let name = "train"
    static let summary = "Records the training image's mean as a model."
    static let parameters = ParameterSchema([.choice("preset", ["quick", "full"], default: "quick", "training preset")])
    static let inputs = TaskInputs(image: .required)
    static let isTraining = true
    nonisolated(unsafe) static var runs = 0

    func run(_ request: TaskRequest, context: TaskContext) throws -> [TaskArtifact] {
        FakeTrain.runs += 1
        let pixels = try VipsImage.load(path: request.image!.path).normalizedSRGB().planarFloats()
        let mean = pixels.reduce(0, +) / Float(pixels.count)
        let url = context.outputURL("model.txt")
        try "\(mean)".write(to: url, atomically: true, encoding: .utf8)
        return [TaskArtifact(url, kind: .model)]
    }
}

/// Draws `count` solid images of the model's value.
struct Sample: TaskPlugin {
    static let name = "sample"
    static let summary = "Solid images from the model."
    static let parameters = ParameterSchema([.int("count", default: 2, range: 1...8, "how many")])
    static let inputs = TaskInputs(image: .none, model: .required)

    func run(_ request: TaskRequest, context: TaskContext) throws -> [TaskArtifact] {
        let value = Float(try String(contentsOf: request.model!, encoding: .utf8)) ?? 0
        return try (0..<request.parameters.int("count")).map { _ in
            let url = context.outputURL("sample.png")
            try TestPlugins.solid(value, to: url)
            return TaskArtifact(url)
        }
    }
}

/// Returns the image twice, labelled masked and unmasked; needs a mask side input.
struct Edit: TaskPlugin {
    static let name = "edit"
    static let summary = "Masked and unmasked copies."
    static let parameters = ParameterSchema([.int("scale", default: 1, range: 0...8, "start scale")])
    static let inputs = TaskInputs(image: .required, model: .optional, sideInputs: [SideInput("mask", "where to edit")])

    func run(_ request: TaskRequest, context: TaskContext) throws -> [TaskArtifact] {
        guard request.sideInputs["mask"] != nil else { throw TaskError("edit: no mask") }
        return try ["masked", "unmasked"].map { label in
            let url = context.outputURL("\(label).png")
            try FileManager.default.copyItem(at: request.image!, to: url)
            return TaskArtifact(url, label: label)
        }
    }
}
