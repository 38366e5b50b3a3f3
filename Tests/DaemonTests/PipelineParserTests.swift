import Daemon
import Foundation
import Plugins
import XCTest

final class PipelineParserTests: XCTestCase {
    let parser = PipelineParser(registry: TestPlugins.registry)
    let file = URL(fileURLWithPath: "/root/pipelines/edit.yaml")

    func parse(_ yaml: String) throws -> Pipeline { try parser.parse(yaml: yaml, file: file) }

    /// The error for `yaml`, as "line:column: message".
    func error(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try parse(yaml)
            XCTFail("accepted", file: file, line: line)
            return ""
        } catch let e as PipelineError {
            XCTAssertEqual(e.file, self.file.path, file: file, line: line)
            return "\(e.line):\(e.column): \(e.message)"
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
            return ""
        }
    }

    func testFullPipeline() throws {
        let p = try parse("""
            description: Edit with a trained model.
            inbox: drop/here
            model:
              train: {preset: full}
            side_file_timeout: 2.5
            max_attempts: 2
            steps:
              - task: edit
                side: {mask: "{stem}_mask.png"}
                params: {scale: 3}
                keep: true
              - task: resize
                name: small
                params: {factor: 0.5}
            output:
              name: "{stem}/{step}_{label}"
              format: jpg
              quality: 80
            """)
        XCTAssertEqual(p.name, "edit")
        XCTAssertEqual(p.folders, PipelineFolders(inbox: "drop/here", outbox: "outbox/edit", done: "done/edit", failed: "failed/edit"))
        XCTAssertEqual(p.model, .train(ParameterValues(["preset": .string("full")])))
        XCTAssertEqual(p.sideFileTimeout, 2.5)
        XCTAssertEqual(p.maxAttempts, 2)
        XCTAssertEqual(p.steps.map(\.name), ["edit", "small"])
        XCTAssertEqual(p.steps[0].parameters.int("scale"), 3)
        XCTAssertTrue(p.steps[0].keep)
        XCTAssertEqual(p.steps[1].parameters.double("factor"), 0.5)
        XCTAssertEqual(p.steps[1].parameters.int("max_side"), 0)
        XCTAssertEqual(p.output.format, "jpg")
        XCTAssertEqual(p.output.quality, 80)
        XCTAssertEqual(p.sideFiles.map(\.description), ["{stem}_mask.png"])
        XCTAssertTrue(p.isSideFile("cat_mask.png"))
        XCTAssertFalse(p.isSideFile("cat.png"))
        XCTAssertTrue(p.trains)
    }

    func testDefaults() throws {
        let p = try parse("steps:\n  - task: resize\n")
        XCTAssertEqual(p.folders, .defaults(for: "edit"))
        XCTAssertEqual(p.model, .none)
        XCTAssertEqual(p.output.name.description, "{stem}_{index}")
        XCTAssertEqual(p.output.format, "png")
        XCTAssertEqual(p.sideFileTimeout, 60)
        XCTAssertEqual(p.maxAttempts, 3)
    }

    func testStrictErrorsCarryLineAndColumn() {
        XCTAssertEqual(error("steps:\n  - task: resize\nouptut: {}\n"),
                       "3:1: unknown key 'ouptut' in the pipeline (known: description, inbox, outbox, done, failed, model, steps, output, side_file_timeout, max_attempts, max_pixels)")
        XCTAssertEqual(error("steps:\n  - task: blur\n"), "2:11: unknown task 'blur' (known: edit, resize, sample, train)")
        XCTAssertEqual(error("steps:\n  - task: resize\n    params:\n      factor: big\n"),
                       "4:15: task 'resize': parameter 'factor' must be a number, got \"big\"")
        XCTAssertEqual(error("steps:\n  - task: resize\n    params: {factor: 40}\n"),
                       "3:22: task 'resize': parameter 'factor' must be in 0.01...16.0, got 40")
        XCTAssertEqual(error("steps:\n  - task: resize\n    params: {facter: 2}\n"),
                       "3:14: task 'resize': unknown parameter 'facter' (known: factor, max_side)")
        XCTAssertEqual(error("steps:\n  - task: resize\n    colour: red\n"),
                       "3:5: unknown key 'colour' in step 1 (known: task, name, input, side, params, keep)")
        XCTAssertEqual(error("model: m.model\nsteps:\n  - task: sample\n    input: dropped\n"),
                       "4:12: step 1: task 'sample' takes no image; remove `input`")
        XCTAssertEqual(error("steps:\n  - task: sample\n"),
                       "2:11: step 1: task 'sample' needs a model; add `model: FILE` or `model: {train: {...}}` to the pipeline")
        XCTAssertEqual(error("steps:\n  - task: resize\n    input: none\n"),
                       "3:12: step 1: task 'resize' needs an image, but `input: none` gives it nothing")
        XCTAssertEqual(error("steps:\n  - task: edit\n"),
                       "2:11: step 1: task 'edit' needs side input 'mask' (where to edit); add `side: {mask: \"{stem}_mask.png\"}`")
        XCTAssertEqual(error("steps:\n  - task: resize\n    input: mask.png\n"),
                       "3:12: step 1 input \"mask.png\" must contain {stem} exactly once, e.g. \"{stem}_mask.png\"")
        XCTAssertEqual(error("steps:\n  - task: resize\noutput: {name: \"../{stem}\"}\n"),
                       "3:16: output name must not contain '..', got \"../x\"")
        XCTAssertEqual(error("outbox: /etc\nsteps:\n  - task: resize\n"), "1:9: outbox must be relative to the root, got \"/etc\"")
        XCTAssertEqual(error("steps:\n  - task: resize\noutput: {name: \"{stem}_{colour}\"}\n"),
                       "3:16: output name: template \"{stem}_{colour}\" uses unknown variable {colour} (allowed: {index}, {label}, {stem}, {step})")
        XCTAssertEqual(error("steps:\n  - task: resize\n    keep: yes please\n"), "3:11: step 1 keep must be true or false")
        XCTAssertEqual(error("steps:\n  - task: resize\n  - task: resize\n"),
                       "3:5: two steps are named 'resize'; give one a different `name`")
        XCTAssertEqual(error("steps: []\n"), "1:8: steps must be a non-empty list of steps (each `- task: NAME`)")
        XCTAssertEqual(error("description: x\n"), "1:1: missing key 'steps': a pipeline needs at least one step")
        XCTAssertEqual(error("steps:\n  - task: resize\n  task: x\n"), "3:3: invalid YAML: did not find expected '-' indicator")
        XCTAssertEqual(error("steps:\n  - task: resize\nsteps: []\n"), "3:1: duplicate key 'steps' in the pipeline")
        XCTAssertEqual(error("model: {train: {preset: huge}}\nsteps:\n  - task: sample\n"),
                       "1:25: task 'train': parameter 'preset' must be one of quick, full, got \"huge\"")
        XCTAssertEqual(error("steps:\n  - task: resize\n    params: {factor: \"2\"}\n"),
                       "3:22: task 'resize': parameter 'factor' must be a number, got \"2\"")
    }

    func testAStepAfterTrainingConsumesNothing() {
        XCTAssertEqual(error("steps:\n  - task: train\n  - task: resize\n"),
                       "3:11: step 2: task 'resize' consumes the previous step's images, but the previous step produces none; set `input`")
    }

    func testFoldersAreComparedAfterNormalisation() throws {
        let steps = "steps:\n  - task: resize\n"
        XCTAssertEqual(error("inbox: \".\"\n" + steps), "1:8: inbox \".\" is the root itself; name a folder inside it, e.g. \"inbox/NAME\"")
        XCTAssertEqual(error("failed: ./.\n" + steps), "1:9: failed \"./.\" is the root itself; name a folder inside it, e.g. \"failed/NAME\"")
        XCTAssertEqual(error("done: ./processing/x\n" + steps), "1:7: done \"./processing/x\" would be in the daemon's own processing; choose another folder")
        XCTAssertEqual(error("outbox: journal.sqlite-wal\n" + steps),
                       "1:9: outbox \"journal.sqlite-wal\" would be in the daemon's own journal.sqlite-wal; choose another folder")
        XCTAssertEqual(error("inbox: inbox/loop\noutbox: ./inbox/loop\n" + steps),
                       "2:9: inbox, outbox, done and failed must be four different folders")
        XCTAssertEqual(error("inbox: inbox/loop\noutbox: inbox/loop/out\n" + steps),
                       "2:9: outbox \"inbox/loop/out\" lies inside inbox \"inbox/loop\"; no folder of a pipeline may be inside another")
        XCTAssertEqual(error("done: drop\ninbox: drop/in\n" + steps),
                       "1:7: done \"drop\" holds inbox \"drop/in\"; no folder of a pipeline may be inside another")
        XCTAssertEqual(try parse("inbox: ./drop/./here\n" + steps).folders.inbox, "drop/here")
    }

    func testDeepNestingAndLargeFilesAreRefusedBeforeParsing() throws {
        // 5000 `[` overflowed the YAML parser's stack (exit 139) before the limit.
        XCTAssertEqual(error("steps: " + String(repeating: "[", count: 5000) + "\n"),
                       "1:71: nesting deeper than 64 levels; a pipeline needs a handful")
        XCTAssertEqual(error("steps:\n" + String(repeating: "- ", count: 100) + "x\n"),
                       "2:129: nesting deeper than 64 levels; a pipeline needs a handful")
        let indented = (0..<80).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n")
        XCTAssertEqual(error(indented + "\n"), "65:65: nesting deeper than 64 levels; a pipeline needs a handful")
        XCTAssertEqual(error("description: \"" + String(repeating: "x", count: 70_000) + "\"\n"),
                       "0:0: 70016 bytes, over the limit of 65536 bytes for a pipeline file")
        // Brackets in quotes, comments and block scalars are text, not nesting.
        let text = String(repeating: "[", count: 100)
        XCTAssertNoThrow(try parse("description: \"\(text)\" # \(text)\nsteps:\n  - task: resize # \(text)\n"))
        XCTAssertNoThrow(try parse("description: |\n  \(text)\n  '\(text)\nsteps:\n  - {task: resize, params: {factor: 2}}\n"))

        // A file that is not a regular file is refused without reading it.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pipes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let fifo = folder.appendingPathComponent("fifo.yaml")
        XCTAssertEqual(mkfifo(fifo.path, 0o644), 0)
        XCTAssertThrowsError(try parser.parse(fileAt: fifo)) { error in
            XCTAssertEqual("\(error)", "\(fifo.path): cannot read the file: it is a FIFO (named pipe), not a regular file")
        }
    }

    func testExamplePipelinesParse() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../pipelines").standardizedFileURL
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 7)
        var pipelines: [String: Pipeline] = [:]
        for name in files {
            let pipeline = try PipelineParser(registry: .standard).parse(fileAt: folder.appendingPathComponent(name))
            pipelines[pipeline.name] = pipeline
        }
        guard case .train(let animateTraining)? = pipelines["animate"]?.model else { return XCTFail("animate trains its model") }
        XCTAssertTrue(animateTraining.bool("noise_padding"), "animation needs a model trained with noise padding")
        XCTAssertEqual(pipelines["superres"]?.model, ModelSource.none, "superres trains its own model")
    }
}

final class NameTemplateTests: XCTestCase {
    func testRenderAndMatch() throws {
        let t = try NameTemplate("{stem}_mask.png", allowed: ["stem"])
        XCTAssertEqual(t.render(["stem": "cat"]), "cat_mask.png")
        XCTAssertEqual(t.stem(matching: "cat_mask.png"), "cat")
        XCTAssertNil(t.stem(matching: "cat.png"))
        XCTAssertNil(t.stem(matching: "_mask.png"))
        XCTAssertThrowsError(try NameTemplate("{stem", allowed: ["stem"]))
        XCTAssertThrowsError(try NameTemplate("{stem}}", allowed: ["stem"]))
    }
}

final class RootPathTests: XCTestCase {
    func testRejectsEscapes() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("rootpath-\(UUID().uuidString)")
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("outside-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("outbox"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root); try? FileManager.default.removeItem(at: outside) }
        try FileManager.default.createSymbolicLink(at: root.appendingPathComponent("outbox/escape"), withDestinationURL: outside)
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("outbox/dangling").path, withDestinationPath: "/nonexistent/x")
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("outbox/inner").path, withDestinationPath: "../outbox")

        XCTAssertEqual(try RootPath.resolve("outbox/a/b.png", under: root).path, root.path + "/outbox/a/b.png")
        XCTAssertNoThrow(try RootPath.resolve("outbox/inner/b.png", under: root))
        XCTAssertThrowsError(try RootPath.resolve("outbox/escape/b.png", under: root))
        XCTAssertThrowsError(try RootPath.resolve("outbox/dangling", under: root))
        XCTAssertThrowsError(try RootPath.resolve("../b.png", under: root))
        XCTAssertThrowsError(try RootPath.resolve("/etc/passwd", under: root))
        XCTAssertThrowsError(try RootPath.resolve("a//b", under: root))
    }
}
