import Foundation
import Plugins
import Vips
import Yams

/// Reads pipeline files strictly: every unknown key, unknown task, wrongly typed or out-of-range
/// value, and step that consumes nothing is an error with the file, line and column.
public struct PipelineParser {
    public let registry: PluginRegistry

    public init(registry: PluginRegistry = .standard) {
        self.registry = registry
    }

    static let topKeys = ["description", "inbox", "outbox", "done", "failed", "model", "steps", "output",
                          "side_file_timeout", "max_attempts", "max_pixels"]
    static let stepKeys = ["task", "name", "input", "side", "params", "keep"]
    static let outputKeys = ["name", "format", "quality"]

    /// Parses the pipeline file at `url`; its name is the file name without extension.
    public func parse(fileAt url: URL) throws -> Pipeline {
        let data: Data
        do {
            // A regular file within the size limit: a FIFO or `/dev/zero` here must not hang the daemon.
            let fd = try InputFile.open(url.path, maxBytes: PipelineLimits.maxBytes)
            data = try FileHandle(fileDescriptor: fd, closeOnDealloc: true).read(upToCount: PipelineLimits.maxBytes + 1) ?? Data()
        } catch VipsError.emptyFile {
            data = Data()  // the parser says what an empty pipeline lacks
        } catch let error as VipsError {
            throw PipelineError(file: url.path, line: 0, column: 0, message: "cannot read the file: \(Self.reason(error))")
        } catch {
            throw PipelineError(file: url.path, line: 0, column: 0, message: "cannot read the file: \(error.localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PipelineError(file: url.path, line: 0, column: 0, message: "cannot read the file: it is not UTF-8 text")
        }
        return try parse(yaml: text, file: url)
    }

    /// A file error's reason without the path (the pipeline error names the file).
    private static func reason(_ error: VipsError) -> String {
        switch error {
        case .tooLarge(_, let bytes, let limit): return "\(bytes) bytes, over the limit of \(limit) bytes for a pipeline file"
        case .notRegularFile(_, let kind): return "it is \(kind), not a regular file"
        case .fileNotFound: return "no such file"
        default: return "\(error)"
        }
    }

    public func parse(yaml: String, file: URL) throws -> Pipeline {
        let name = file.deletingPathExtension().lastPathComponent
        let reader = Reader(file: file.path, registry: registry)
        // Checked before parsing: the parser's recursion is bounded only by the text.
        let size = yaml.utf8.count
        if size > PipelineLimits.maxBytes {
            throw PipelineError(file: file.path, line: 0, column: 0,
                                message: "\(size) bytes, over the limit of \(PipelineLimits.maxBytes) bytes for a pipeline file")
        }
        if let (line, column) = PipelineLimits.tooDeep(yaml) {
            throw PipelineError(file: file.path, line: line, column: column,
                                message: "nesting deeper than \(PipelineLimits.maxDepth) levels; a pipeline needs a handful")
        }
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw PipelineError(file: file.path, line: 1, column: 1, message: "the file is empty; a pipeline needs at least `steps`")
            }
            root = node
        } catch let error as YamlError {
            throw reader.yamlError(error)
        }
        guard name.range(of: "^[A-Za-z0-9_-]+$", options: .regularExpression) != nil else {
            throw PipelineError(file: file.path, line: 0, column: 0,
                                message: "pipeline name '\(name)' (from the file name) may only use letters, digits, '_' and '-'")
        }
        return try reader.pipeline(root, name: name)
    }
}

/// Walks the composed YAML tree, turning problems into positioned errors.
private struct Reader {
    let file: String
    let registry: PluginRegistry

    init(file: String, registry: PluginRegistry) {
        self.file = file
        self.registry = registry
    }

    func error(_ node: Node?, _ message: String) -> PipelineError {
        PipelineError(file: file, line: node?.mark?.line ?? 0, column: node?.mark?.column ?? 0, message: message)
    }

    func yamlError(_ error: YamlError) -> PipelineError {
        switch error {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            return PipelineError(file: file, line: mark.line, column: mark.column, message: "invalid YAML: \(problem)")
        default:
            return PipelineError(file: file, line: 0, column: 0, message: "invalid YAML: \(error)")
        }
    }

    /// The mapping's entries by key, rejecting unknown and duplicate keys.
    func entries(_ node: Node, of what: String, allowed: [String]) throws -> [String: (key: Node, value: Node)] {
        guard case .mapping(let mapping) = node else { throw error(node, "\(what) must be a mapping of keys to values") }
        var result: [String: (key: Node, value: Node)] = [:]
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else { throw error(key, "keys in \(what) must be plain words") }
            let name = scalar.string
            guard allowed.contains(name) else {
                throw error(key, "unknown key '\(name)' in \(what) (known: \(allowed.joined(separator: ", ")))")
            }
            guard result[name] == nil else { throw error(key, "duplicate key '\(name)' in \(what)") }
            result[name] = (key, value)
        }
        return result
    }

    func string(_ node: Node, _ what: String) throws -> String {
        guard case .scalar(let s) = node, node.tagName != .null else { throw error(node, "\(what) must be a string") }
        return s.string
    }

    func int(_ node: Node, _ what: String, range: ClosedRange<Int>) throws -> Int {
        guard case .scalar = node, node.tagName == .int, let v = node.int else { throw error(node, "\(what) must be an integer") }
        guard range.contains(v) else { throw error(node, "\(what) must be in \(range.lowerBound)...\(range.upperBound), got \(v)") }
        return v
    }

    func number(_ node: Node, _ what: String, range: ClosedRange<Double>) throws -> Double {
        guard case .scalar = node, node.tagName == .int || node.tagName == .float, let v = node.float else {
            throw error(node, "\(what) must be a number")
        }
        guard range.contains(v) else { throw error(node, "\(what) must be in \(range.lowerBound)...\(range.upperBound), got \(v)") }
        return v
    }

    func bool(_ node: Node, _ what: String) throws -> Bool {
        guard case .scalar = node, node.tagName == .bool, let v = node.bool else { throw error(node, "\(what) must be true or false") }
        return v
    }

    /// A folder relative to the root that cannot leave it, normalised (`./a/./b` is `a/b`), neither
    /// the root itself nor one of the daemon's own files or folders.
    func folder(_ node: Node, _ what: String) throws -> String {
        let path = try string(node, what)
        if let problem = RootPath.problem(relative: path) { throw error(node, "\(what) \(problem)") }
        let parts = path.split(separator: "/").filter { $0 != "." }.map(String.init)
        guard let first = parts.first else {
            throw error(node, "\(what) \"\(path)\" is the root itself; name a folder inside it, e.g. \"\(what)/NAME\"")
        }
        if PipelineFolders.reservedNames.contains(first) {
            throw error(node, "\(what) \"\(path)\" would be in the daemon's own \(first); choose another folder")
        }
        return parts.joined(separator: "/")
    }

    func template(_ node: Node, _ what: String, allowed: Set<String>) throws -> NameTemplate {
        do { return try NameTemplate(try string(node, what), allowed: allowed) } catch let e as TemplateError {
            throw error(node, "\(what): \(e)")
        }
    }

    /// A side-file template: a plain file name holding `{stem}` exactly once.
    func sideTemplate(_ node: Node, _ what: String) throws -> NameTemplate {
        let t = try template(node, what, allowed: ["stem"])
        guard t.stem(matching: t.render(["stem": "x"])) == "x" else {
            throw error(node, "\(what) \"\(t)\" must contain {stem} exactly once, e.g. \"{stem}_mask.png\"")
        }
        guard !t.description.contains("/") else { throw error(node, "\(what) \"\(t)\" must be a file name in the inbox, without '/'") }
        return t
    }

    /// Parameters for `schema`, each value checked at its own position.
    func parameters(_ node: Node?, schema: ParameterSchema, task: String, at anchor: Node) throws -> ParameterValues {
        var given: [String: ParameterValue] = [:]
        if let node, node.tagName != .null {
            guard case .mapping(let mapping) = node else { throw error(node, "params of task '\(task)' must be a mapping") }
            for (key, value) in mapping {
                let name = key.string ?? ""
                guard let parameter = schema[name] else {
                    throw error(key, "task '\(task)': " + ParameterError.unknown(parameter: name, known: schema.parameters.map(\.name)).description)
                }
                guard given[name] == nil else { throw error(key, "duplicate parameter '\(name)'") }
                let raw = try scalarValue(value, parameter: name, task: task)
                do { given[name] = try parameter.validate(raw) } catch let e as ParameterError {
                    throw error(value, "task '\(task)': \(e)")
                }
            }
        }
        do { return try schema.validate(given) } catch let e as ParameterError {
            throw error(node ?? anchor, "task '\(task)': \(e)")
        }
    }

    func scalarValue(_ node: Node, parameter: String, task: String) throws -> ParameterValue {
        guard case .scalar(let s) = node else {
            throw error(node, "task '\(task)': parameter '\(parameter)' must be a single value, not a list or mapping")
        }
        switch node.tagName {
        case .int: if let v = node.int { return .int(v) }
        case .float: if let v = node.float { return .double(v) }
        case .bool: if let v = node.bool { return .bool(v) }
        case .null: throw error(node, "task '\(task)': parameter '\(parameter)' has no value")
        default: break
        }
        return .string(s.string)
    }

    func pipeline(_ root: Node, name: String) throws -> Pipeline {
        let keys = try entries(root, of: "the pipeline", allowed: PipelineParser.topKeys)
        var folders = PipelineFolders.defaults(for: name)
        if let e = keys["inbox"] { folders.inbox = try folder(e.value, "inbox") }
        if let e = keys["outbox"] { folders.outbox = try folder(e.value, "outbox") }
        if let e = keys["done"] { folders.done = try folder(e.value, "done") }
        if let e = keys["failed"] { folders.failed = try folder(e.value, "failed") }
        let folderList = folders.all
        for (i, (key, path)) in folderList.enumerated() {
            for (otherKey, otherPath) in folderList[..<i] {
                guard let relation = PipelineFolders.overlap(path, otherPath) else { continue }
                throw error(keys[key]?.value ?? keys[otherKey]?.value ?? root, relation == "is"
                    ? "inbox, outbox, done and failed must be four different folders"
                    : "\(key) \"\(path)\" \(relation) \(otherKey) \"\(otherPath)\"; no folder of a pipeline may be inside another")
            }
        }
        var positions: [String: (line: Int, column: Int)] = [:]
        for (key, _) in folderList {
            if let mark = keys[key]?.value.mark { positions[key] = (mark.line, mark.column) }
        }

        let model = try keys["model"].map { try modelSource($0.value) } ?? ModelSource.none

        guard let stepsEntry = keys["steps"] else { throw error(root, "missing key 'steps': a pipeline needs at least one step") }
        guard case .sequence(let stepNodes) = stepsEntry.value, !stepNodes.isEmpty else {
            throw error(stepsEntry.value, "steps must be a non-empty list of steps (each `- task: NAME`)")
        }
        var steps: [Step] = []
        var previousMakesImages = true  // the dropped image feeds the first step
        for (i, node) in stepNodes.enumerated() {
            let step = try self.step(node, number: i + 1, model: model, previousMakesImages: previousMakesImages)
            previousMakesImages = registry.plugin(named: step.task)!.producesImages
            steps.append(step)
        }
        var names = Set<String>()
        for (i, step) in steps.enumerated() where !names.insert(step.name).inserted {
            throw error(stepNodes[i], "two steps are named '\(step.name)'; give one a different `name`")
        }

        var output = OutputSpec(name: try NameTemplate(steps.count > 1 ? "{stem}_{step}_{index}" : "{stem}_{index}",
                                                       allowed: OutputSpec.variables),
                                format: "png", quality: 90)
        if let e = keys["output"] {
            let o = try entries(e.value, of: "output", allowed: PipelineParser.outputKeys)
            if let n = o["name"] {
                output.name = try template(n.value, "output name", allowed: OutputSpec.variables)
                if let problem = RootPath.problem(relative: output.name.render(["stem": "x", "step": "s", "index": "0", "label": "l"])) {
                    throw error(n.value, "output name \(problem)")
                }
            }
            if let f = o["format"] {
                let format = try string(f.value, "output format").lowercased()
                guard OutputSpec.formats.contains(format) else {
                    throw error(f.value, "output format must be one of \(OutputSpec.formats.joined(separator: ", ")), got \"\(format)\"")
                }
                output.format = format == "keep" ? nil : format
            }
            if let q = o["quality"] { output.quality = try int(q.value, "output quality", range: 1...100) }
        }

        return Pipeline(
            name: name, file: URL(fileURLWithPath: file), summary: try keys["description"].map { try string($0.value, "description") },
            folders: folders, model: model, steps: steps, output: output,
            sideFileTimeout: try keys["side_file_timeout"].map { try number($0.value, "side_file_timeout", range: 0...86_400) } ?? 60,
            maxAttempts: try keys["max_attempts"].map { try int($0.value, "max_attempts", range: 1...100) } ?? 3,
            maxPixels: try keys["max_pixels"].map { try int($0.value, "max_pixels", range: 1...1_000_000_000) } ?? 50_000_000,
            folderPositions: positions)
    }

    func modelSource(_ node: Node) throws -> ModelSource {
        if case .scalar = node {
            let path = try string(node, "model")
            guard !path.isEmpty else { throw error(node, "model must name a model file") }
            return .file(path)
        }
        let keys = try entries(node, of: "model", allowed: ["file", "train"])
        guard keys.count == 1 else {
            throw error(node, "model needs exactly one of `file: PATH` or `train: {preset: ...}`")
        }
        if let f = keys["file"] { return .file(try string(f.value, "model file")) }
        let train = keys["train"]!
        guard let plugin = registry.plugin(named: "train") else {
            throw error(train.key, "`train` needs the 'train' task, which this build does not have (tasks: \(registry.names.joined(separator: ", ")))")
        }
        return .train(try parameters(train.value, schema: plugin.parameters, task: "train", at: train.key))
    }

    func step(_ node: Node, number: Int, model: ModelSource, previousMakesImages: Bool) throws -> Step {
        let what = "step \(number)"
        let keys = try entries(node, of: what, allowed: PipelineParser.stepKeys)
        guard let taskEntry = keys["task"] else { throw error(node, "\(what) needs `task: NAME`") }
        let task = try string(taskEntry.value, "task")
        guard let plugin = registry.plugin(named: task) else {
            throw error(taskEntry.value, "unknown task '\(task)' (known: \(registry.names.sorted().joined(separator: ", ")))")
        }

        var input = StepInput.previous
        if let e = keys["input"] {
            let text = try string(e.value, "\(what) input")
            switch text {
            case "previous": input = .previous
            case "dropped": input = .dropped
            case "none": input = .none
            default: input = .sideFile(try sideTemplate(e.value, "\(what) input"))
            }
        } else if plugin.inputs.image == .none {
            input = .none
        }

        // The image the step would consume, and whether the task takes one.
        let anchor = keys["input"]?.value ?? taskEntry.value
        switch (plugin.inputs.image, input) {
        case (.none, .previous), (.none, .dropped), (.none, .sideFile):
            throw error(anchor, "\(what): task '\(task)' takes no image; remove `input`")
        case (.required, .none):
            throw error(anchor, "\(what): task '\(task)' needs an image, but `input: none` gives it nothing")
        case (.required, .previous) where !previousMakesImages, (.optional, .previous) where !previousMakesImages:
            throw error(anchor, "\(what): task '\(task)' consumes the previous step's images, but the previous step produces none; set `input`")
        default: break
        }
        switch (plugin.inputs.model, model) {
        case (.required, .none):
            throw error(taskEntry.value, "\(what): task '\(task)' needs a model; add `model: FILE` or `model: {train: {...}}` to the pipeline")
        default: break
        }

        var side: [String: NameTemplate] = [:]
        if let e = keys["side"] {
            let declared = plugin.inputs.sideInputs.map(\.name)
            guard case .mapping(let mapping) = e.value else { throw error(e.value, "\(what) side must map side-input names to file templates") }
            for (key, value) in mapping {
                let name = key.string ?? ""
                guard declared.contains(name) else {
                    throw error(key, "\(what): task '\(task)' has no side input '\(name)'" +
                                (declared.isEmpty ? "" : " (it has: \(declared.joined(separator: ", ")))"))
                }
                guard side[name] == nil else { throw error(key, "duplicate side input '\(name)'") }
                side[name] = try sideTemplate(value, "\(what) side input '\(name)'")
            }
        }
        for required in plugin.inputs.sideInputs where required.isRequired && side[required.name] == nil {
            throw error(keys["side"]?.key ?? taskEntry.value,
                        "\(what): task '\(task)' needs side input '\(required.name)' (\(required.summary)); add `side: {\(required.name): \"{stem}_\(required.name).png\"}`")
        }

        let consumesModel = plugin.inputs.model != .none && model != .none
        if input == .none && !consumesModel && side.isEmpty {
            throw error(taskEntry.value, "\(what): task '\(task)' consumes nothing (no image, no model, no side input)")
        }

        let params = try parameters(keys["params"]?.value, schema: plugin.parameters, task: task, at: taskEntry.value)
        let name = try keys["name"].map { try string($0.value, "\(what) name") } ?? task
        guard name.range(of: "^[A-Za-z0-9_-]+$", options: .regularExpression) != nil else {
            throw error(keys["name"]?.value, "\(what) name '\(name)' may only use letters, digits, '_' and '-'")
        }
        let keep = try keys["keep"].map { try bool($0.value, "\(what) keep") } ?? false
        return Step(name: name, task: task, input: input, side: side, parameters: params, keep: keep)
    }
}

extension TaskPlugin {
    /// Whether the task's outputs can feed a following step's image input.
    static var producesImages: Bool { !isTraining }
}

extension Node {
    /// The resolved YAML tag (a quoted "3" is a string, a bare 3 an integer).
    var tagName: Tag.Name { Tag.Name(rawValue: tag.description) }
}
