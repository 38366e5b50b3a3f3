import Engine
import Foundation
import Plugins
import SinGAN
import Vips
import XCTest

/// Helpers of the SinGAN plugin tests: resources, scratch folders, running plugins as the
/// runner does (parameters validated by the schema), and tiny models trained by the train plugin.
enum PluginTestSupport {
    /// A file of Tests/PluginsTests/Resources.
    static func resource(_ name: String) -> URL {
        Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Resources")!
    }

    /// A new empty folder, inside this test process's own folder, which is removed when the
    /// process exits (each run used to leave about 500 folders and 70 MB of models in /tmp).
    static func scratch(_ tag: String) throws -> URL {
        let url = processFolder.appendingPathComponent("\(tag)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    private static let processFolder: URL = {
        atexit { try? FileManager.default.removeItem(at: PluginTestSupport.processFolderURL) }
        return processFolderURL
    }()

    private static var processFolderURL: URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("plugins-tests-\(getpid())")
    }

    /// Runs `plugin` on the inputs with `params` validated by its schema, in a fresh work folder.
    static func run(_ plugin: any TaskPlugin.Type, image: URL? = nil, model: URL? = nil, side: [String: URL] = [:],
                    _ params: [String: ParameterValue] = [:]) throws -> [TaskArtifact] {
        let dir = try scratch(plugin.name)
        let work = dir.appendingPathComponent("work"), checkpoints = dir.appendingPathComponent("checkpoints")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: checkpoints, withIntermediateDirectories: true)
        let context = TaskContext(workDirectory: work, checkpointDirectory: checkpoints)
        let request = TaskRequest(image: image, model: model, sideInputs: side,
                                  parameters: try plugin.parameters.validate(params))
        return try plugin.init().run(request, context: context)
    }

    /// The message of the error `body` throws (fails the test if it throws none).
    static func errorMessage(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
        do { try body() } catch { return "\(error)" }
        XCTFail("no error thrown", file: file, line: line)
        return ""
    }

    /// A tiny model of `image`, trained by the train plugin: max size 48, min size 16, `iterations`
    /// per scale (5 scales for the 64 px resources). Returns the model file (in a scratch folder).
    static func trainTinyModel(_ image: URL, iterations: Int = 12, noisePadding: Bool = false) throws -> URL {
        let artifacts = try run(TrainPlugin.self, image: image, [
            "preset": .string("quick"), "iterations": .int(iterations), "max_size": .int(48), "min_size": .int(16),
            "noise_padding": .bool(noisePadding), "seed": .int(1)])
        XCTAssertEqual(artifacts.map(\.kind), [.model])
        return artifacts[0].url
    }

    /// An image file's size as (width, height).
    static func size(_ url: URL) throws -> [Int] {
        let image = try VipsImage.load(path: url.path)
        return [image.width, image.height]
    }

    /// An image file's pixels as 8-bit RGB, planar.
    static func pixels(_ url: URL) throws -> [Float] {
        try VipsImage.load(path: url.path).normalizedSRGB().planarFloats()
    }

    /// A tensor as it is written to an 8-bit file, read back to [-1, 1].
    static func quantized8Bit(_ t: Tensor) throws -> [Float] {
        try VipsImage.fromPlanarFloats(t.scalars, width: t.shape[3], height: t.shape[2], channels: 3).planarFloats()
    }

    /// A grey mask file of width x height, white inside `rect` (x, y, w, h).
    static func mask(width: Int, height: Int, white rect: (Int, Int, Int, Int), bands: Int = 1, in dir: URL,
                     name: String = "mask.png") throws -> URL {
        var values = [Float](repeating: -1, count: bands * width * height)
        for b in 0..<bands {
            for y in rect.1..<(rect.1 + rect.3) {
                for x in rect.0..<(rect.0 + rect.2) { values[b * width * height + y * width + x] = 1 }
            }
        }
        let url = dir.appendingPathComponent(name)
        try VipsImage.fromPlanarFloats(values, width: width, height: height, channels: bands).save(to: url.path)
        return url
    }
}
