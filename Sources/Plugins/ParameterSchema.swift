/// The type of a task parameter's value.
public enum ParameterType: Equatable, Sendable, CustomStringConvertible {
    case int
    case double
    case bool
    case string
    /// A string that must be one of the listed values.
    case choice([String])

    public var description: String {
        switch self {
        case .int: return "integer"
        case .double: return "number"
        case .bool: return "boolean"
        case .string: return "string"
        case .choice(let options): return "one of " + options.joined(separator: "|")
        }
    }
}

/// One parameter value, as given in a pipeline file or on the command line.
public enum ParameterValue: Hashable, Sendable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case bool(Bool)
    case string(String)

    public var description: String {
        switch self {
        case .int(let v): return String(v)
        case .double(let v): return String(v)
        case .bool(let v): return String(v)
        case .string(let v): return "\"\(v)\""
        }
    }

    /// The value as a number, for range checks (`nil` for booleans and strings).
    var number: Double? {
        switch self {
        case .int(let v): return Double(v)
        case .double(let v): return v
        case .bool, .string: return nil
        }
    }
}

/// A declared parameter of a task plugin: name, type, default, range and a one-line description.
public struct Parameter: Sendable {
    public let name: String
    public let type: ParameterType
    /// Used when the parameter is not given. `nil` means "no default": required, or simply absent.
    public let defaultValue: ParameterValue?
    /// Inclusive bounds for `.int` and `.double` parameters.
    public let range: ClosedRange<Double>?
    public let isRequired: Bool
    /// One line, shown by `singan tasks`.
    public let summary: String

    public init(name: String, type: ParameterType, defaultValue: ParameterValue? = nil,
                range: ClosedRange<Double>? = nil, isRequired: Bool = false, summary: String) {
        precondition(!(isRequired && defaultValue != nil), "parameter '\(name)' cannot be required and have a default")
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.range = range
        self.isRequired = isRequired
        self.summary = summary
    }

    /// An integer parameter; `default: nil` with `required: false` makes it optional.
    public static func int(_ name: String, default value: Int? = nil, range: ClosedRange<Int>? = nil,
                           required: Bool = false, _ summary: String) -> Parameter {
        Parameter(name: name, type: .int, defaultValue: value.map(ParameterValue.int),
                  range: range.map { Double($0.lowerBound)...Double($0.upperBound) },
                  isRequired: required, summary: summary)
    }

    /// A floating-point parameter (integers written in a pipeline file are accepted).
    public static func double(_ name: String, default value: Double? = nil, range: ClosedRange<Double>? = nil,
                              required: Bool = false, _ summary: String) -> Parameter {
        Parameter(name: name, type: .double, defaultValue: value.map(ParameterValue.double),
                  range: range, isRequired: required, summary: summary)
    }

    public static func bool(_ name: String, default value: Bool? = nil, required: Bool = false,
                            _ summary: String) -> Parameter {
        Parameter(name: name, type: .bool, defaultValue: value.map(ParameterValue.bool),
                  isRequired: required, summary: summary)
    }

    public static func string(_ name: String, default value: String? = nil, required: Bool = false,
                              _ summary: String) -> Parameter {
        Parameter(name: name, type: .string, defaultValue: value.map(ParameterValue.string),
                  isRequired: required, summary: summary)
    }

    public static func choice(_ name: String, _ options: [String], default value: String? = nil,
                              required: Bool = false, _ summary: String) -> Parameter {
        Parameter(name: name, type: .choice(options), defaultValue: value.map(ParameterValue.string),
                  isRequired: required, summary: summary)
    }

    /// Checks one given value against this parameter's type and range; integers widen to doubles.
    public func validate(_ value: ParameterValue) throws -> ParameterValue {
        let typed: ParameterValue
        switch (type, value) {
        case (.int, .int), (.double, .double), (.bool, .bool), (.string, .string):
            typed = value
        case (.double, .int(let v)):
            typed = .double(Double(v))
        case (.choice(let options), .string(let s)):
            guard options.contains(s) else { throw ParameterError.notAChoice(parameter: name, value: s, choices: options) }
            typed = value
        default:
            throw ParameterError.wrongType(parameter: name, expected: type, got: value)
        }
        if let range, let number = typed.number, !range.contains(number) {
            throw ParameterError.outOfRange(parameter: name, value: value, range: range, isInteger: type == .int)
        }
        return typed
    }

    /// The range as `singan tasks` and messages write it ("1...8", "0.1...10.0"), if there is one.
    public var rangeText: String? { range.map { Self.text($0, isInteger: type == .int) } }

    static func text(_ range: ClosedRange<Double>, isInteger: Bool) -> String {
        isInteger ? "\(Int(range.lowerBound))...\(Int(range.upperBound))" : "\(range.lowerBound)...\(range.upperBound)"
    }

    /// "name: integer in 1...8, default 4 — description", one line for `singan tasks`.
    public var usage: String {
        var line = "\(name): \(type)"
        if let rangeText { line += " in \(rangeText)" }
        if isRequired { line += ", required" } else if let defaultValue { line += ", default \(defaultValue)" } else { line += ", optional" }
        return line + " — " + summary
    }
}

/// The parameters a plugin accepts. `validate` turns raw values into complete, checked values.
public struct ParameterSchema: Sendable {
    public let parameters: [Parameter]

    public init(_ parameters: [Parameter]) {
        var seen = Set<String>()
        for p in parameters { precondition(seen.insert(p.name).inserted, "duplicate parameter '\(p.name)'") }
        self.parameters = parameters
    }

    public subscript(name: String) -> Parameter? { parameters.first { $0.name == name } }

    /// Checks every given value and fills in defaults. Throws the first problem, naming the parameter.
    public func validate(_ given: [String: ParameterValue]) throws -> ParameterValues {
        for name in given.keys.sorted() where self[name] == nil {
            throw ParameterError.unknown(parameter: name, known: parameters.map(\.name))
        }
        var values: [String: ParameterValue] = [:]
        for p in parameters {
            if let value = given[p.name] {
                values[p.name] = try p.validate(value)
            } else if let value = p.defaultValue {
                values[p.name] = value
            } else if p.isRequired {
                throw ParameterError.missing(parameter: p.name)
            }
        }
        return ParameterValues(values)
    }
}

/// Why a parameter value was rejected. Every message names the parameter.
public enum ParameterError: Error, Equatable, CustomStringConvertible {
    case unknown(parameter: String, known: [String])
    case missing(parameter: String)
    case wrongType(parameter: String, expected: ParameterType, got: ParameterValue)
    case outOfRange(parameter: String, value: ParameterValue, range: ClosedRange<Double>, isInteger: Bool)
    case notAChoice(parameter: String, value: String, choices: [String])

    public var description: String {
        switch self {
        case let .unknown(name, known):
            let list = known.isEmpty ? "this task takes no parameters" : "known: " + known.joined(separator: ", ")
            return "unknown parameter '\(name)' (\(list))"
        case let .missing(name):
            return "missing required parameter '\(name)'"
        case let .wrongType(name, expected, got):
            return "parameter '\(name)' must be a \(expected), got \(got)"
        case let .outOfRange(name, value, range, isInteger):
            return "parameter '\(name)' must be in \(Parameter.text(range, isInteger: isInteger)), got \(value)"
        case let .notAChoice(name, value, choices):
            return "parameter '\(name)' must be one of \(choices.joined(separator: ", ")), got \"\(value)\""
        }
    }
}
