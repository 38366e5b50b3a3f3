import ArgumentParser
import Daemon
import Foundation
import Logging
import Plugins

/// `singan run PIPELINE INPUT... [-o DIR]`: a pipeline over files, once, for scripted batches.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a pipeline once over image files.",
        discussion: """
            Side files are looked up beside each input (e.g. photo_mask.png beside photo.png). \
            Inputs are left in place. Prints a summary; exits 0 only if every input succeeded, \
            1 if any failed, 2 if the pipeline file is invalid.
            """)

    @Argument(help: "The pipeline file (YAML).")
    var pipeline: String

    @Argument(help: "Input images.")
    var inputs: [String]

    @Option(name: .shortAndLong, help: "Output folder (created if needed).")
    var output: String = "."

    @Option(help: "Root for relative model paths and the trained-model cache (default: the folder above pipelines/, or the pipeline's folder).")
    var root: String?

    func run() throws {
        LineLogHandler.bootstrap()
        let file = URL(fileURLWithPath: pipeline).standardizedFileURL
        let parsed: Pipeline
        do { parsed = try PipelineParser().parse(fileAt: file) } catch {
            FileHandle.standardError.write(Data("singan run: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let folder = file.deletingLastPathComponent()
        let rootURL = root.map { URL(fileURLWithPath: $0).standardizedFileURL }
            ?? (folder.lastPathComponent == "pipelines" ? folder.deletingLastPathComponent() : folder)
        let outputURL = URL(fileURLWithPath: output).standardizedFileURL
        try FileManager.default.createDirectory(at: outputURL, withIntermediateDirectories: true)
        let executor = JobExecutor(root: rootURL, registry: .standard, logger: Logger(label: "singan.run"))

        var failures: [(String, String)] = []
        for path in inputs {
            let image = URL(fileURLWithPath: path).standardizedFileURL
            let stem = image.deletingPathExtension().lastPathComponent
            var sideFiles: [NameTemplate: URL] = [:]
            for template in parsed.sideFiles {
                let candidate = image.deletingLastPathComponent().appendingPathComponent(template.render(["stem": stem]))
                if FileManager.default.fileExists(atPath: candidate.path) { sideFiles[template] = candidate }
            }
            let work = outputURL.appendingPathComponent(".singan-work-\(UUID().uuidString.lowercased())")
            defer { try? FileManager.default.removeItem(at: work) }
            do {
                guard FileManager.default.fileExists(atPath: image.path) else { throw TaskError("no such file") }
                let outputs = try executor.run(parsed, on: JobInput(image: image, sideFiles: sideFiles, workDirectory: work,
                                                                     outputDirectory: outputURL),
                                               cancellation: CancellationToken())
                print("ok      \(DisplayText.oneLine(path)) → " + outputs.map { DisplayText.oneLine($0.path) }.joined(separator: ", "))
            } catch {
                print("FAILED  \(DisplayText.oneLine(path)): \(DisplayText.oneLine("\(error)"))")
                failures.append((DisplayText.oneLine(path), "\(error)"))
            }
        }
        print("\(inputs.count - failures.count) of \(inputs.count) succeeded" +
              (failures.isEmpty ? "" : "; failed: " + failures.map(\.0).joined(separator: ", ")))
        if !failures.isEmpty { throw ExitCode.failure }
    }
}
