/// Checked parameter values with defaults filled in, as handed to `TaskPlugin.run`.
///
/// The typed accessors trap when a parameter is absent or of another type: after
/// `ParameterSchema.validate` that can only be a mismatch between a plugin's schema and its code.
public struct ParameterValues: Hashable, Sendable {
    public let values: [String: ParameterValue]

    public init(_ values: [String: ParameterValue] = [:]) { self.values = values }

    public subscript(name: String) -> ParameterValue? { values[name] }

    public func int(_ name: String) -> Int {
        guard let v = optionalInt(name) else { absent(name, "integer") }
        return v
    }

    public func optionalInt(_ name: String) -> Int? {
        switch values[name] {
        case .int(let v)?: return v
        case nil: return nil
        default: absent(name, "integer")
        }
    }

    public func double(_ name: String) -> Double {
        guard let v = optionalDouble(name) else { absent(name, "number") }
        return v
    }

    public func optionalDouble(_ name: String) -> Double? {
        switch values[name] {
        case .double(let v)?: return v
        case .int(let v)?: return Double(v)
        case nil: return nil
        default: absent(name, "number")
        }
    }

    public func bool(_ name: String) -> Bool {
        guard case .bool(let v)? = values[name] else { absent(name, "boolean") }
        return v
    }

    public func string(_ name: String) -> String {
        guard let v = optionalString(name) else { absent(name, "string") }
        return v
    }

    public func optionalString(_ name: String) -> String? {
        switch values[name] {
        case .string(let v)?: return v
        case nil: return nil
        default: absent(name, "string")
        }
    }

    /// A stable text form (sorted `name=value` pairs), used in cache keys.
    public var canonical: String {
        values.keys.sorted().map { "\($0)=\(values[$0]!)" }.joined(separator: ";")
    }

    private func absent(_ name: String, _ type: String) -> Never {
        preconditionFailure("parameter '\(name)' is not a validated \(type); check the plugin's schema")
    }
}
