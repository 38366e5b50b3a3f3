/// The task plugins a process knows, by name.
///
/// `@unchecked`: the registry is immutable and holds only metatypes, which carry no state.
public struct PluginRegistry: @unchecked Sendable {
    /// Every built-in plugin. Add a new plugin type to this one list to make it available to
    /// pipelines, `singan run`, `singan daemon` and `singan tasks`.
    public static let standard = PluginRegistry([
        ResizePlugin.self,
        TrainPlugin.self,
        SamplePlugin.self,
        HarmonizePlugin.self,
        EditPlugin.self,
        PaintPlugin.self,
        SuperResolutionPlugin.self,
        AnimatePlugin.self,
        PatchSamplePlugin.self,
        RetargetPlugin.self,
    ])

    public let plugins: [any TaskPlugin.Type]

    public init(_ plugins: [any TaskPlugin.Type]) {
        var seen = Set<String>()
        for p in plugins {
            precondition(seen.insert(p.name).inserted, "two plugins named '\(p.name)'")
            if case .whenTrue(let name) = p.training {
                precondition(p.parameters[name]?.type == .bool, "plugin '\(p.name)' trains when '\(name)' is true but has no such boolean parameter")
            }
        }
        self.plugins = plugins
    }

    public func plugin(named name: String) -> (any TaskPlugin.Type)? {
        plugins.first { $0.name == name }
    }

    public var names: [String] { plugins.map { $0.name } }

    /// The `singan tasks` listing: every plugin, its inputs and each parameter on its own line.
    public func listing() -> String {
        var lines: [String] = []
        for p in plugins.sorted(by: { $0.name < $1.name }) {
            lines.append("\(p.name) — \(p.summary)")
            var consumes: [String] = []
            if p.inputs.image != .none { consumes.append("image" + (p.inputs.image == .optional ? " (optional)" : "")) }
            if p.inputs.model != .none { consumes.append("model" + (p.inputs.model == .optional ? " (optional)" : "")) }
            for side in p.inputs.sideInputs { consumes.append("side \(side.name)" + (side.isRequired ? "" : " (optional)")) }
            if !consumes.isEmpty { lines.append("  inputs: " + consumes.joined(separator: ", ")) }
            if p.training != .never { lines.append("  trains: \(p.training) (takes a training slot of the daemon)") }
            for side in p.inputs.sideInputs { lines.append("  side \(side.name) — \(side.summary)") }
            if p.parameters.parameters.isEmpty { lines.append("  (no parameters)") }
            for param in p.parameters.parameters { lines.append("  " + param.usage) }
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }
}
