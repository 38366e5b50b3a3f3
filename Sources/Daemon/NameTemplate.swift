/// A file name pattern with `{variable}` placeholders, e.g. `{stem}_mask.png` or `{stem}_{step}_{index}`.
public struct NameTemplate: Hashable, Sendable, CustomStringConvertible {
    enum Part: Hashable, Sendable {
        case text(String)
        case variable(String)
    }

    let parts: [Part]
    public let description: String

    /// Parses `text`, accepting only the variables in `allowed`.
    public init(_ text: String, allowed: Set<String>) throws {
        var parts: [Part] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            if open > rest.startIndex { parts.append(.text(String(rest[..<open]))) }
            guard let close = rest[open...].firstIndex(of: "}") else {
                throw TemplateError.unclosedBrace(template: text)
            }
            let name = String(rest[rest.index(after: open)..<close])
            guard allowed.contains(name) else {
                throw TemplateError.unknownVariable(template: text, name: name, allowed: allowed.sorted())
            }
            parts.append(.variable(name))
            rest = rest[rest.index(after: close)...]
        }
        if rest.contains("}") { throw TemplateError.unclosedBrace(template: text) }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        self.parts = parts
        self.description = text
    }

    public var variables: Set<String> {
        Set(parts.compactMap { if case .variable(let n) = $0 { return n } else { return nil } })
    }

    /// The text with each variable replaced by its value (absent values render empty).
    public func render(_ values: [String: String]) -> String {
        parts.map { part -> String in
            switch part {
            case .text(let t): return t
            case .variable(let n): return values[n] ?? ""
            }
        }.joined()
    }

    /// For a side-file template holding only `{stem}` once: the stem that `name` renders from, if any.
    public func stem(matching name: String) -> String? {
        guard parts.filter({ $0 == .variable("stem") }).count == 1,
              let i = parts.firstIndex(of: .variable("stem")) else { return nil }
        let prefix = parts[..<i].map { if case .text(let t) = $0 { return t } else { return "" } }.joined()
        let suffix = parts[(i + 1)...].map { if case .text(let t) = $0 { return t } else { return "" } }.joined()
        guard name.count > prefix.count + suffix.count, name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
        return String(name.dropFirst(prefix.count).dropLast(suffix.count))
    }
}

public enum TemplateError: Error, Equatable, CustomStringConvertible {
    case unclosedBrace(template: String)
    case unknownVariable(template: String, name: String, allowed: [String])

    public var description: String {
        switch self {
        case .unclosedBrace(let t):
            return "template \"\(t)\" has an unmatched brace"
        case let .unknownVariable(t, name, allowed):
            return "template \"\(t)\" uses unknown variable {\(name)} (allowed: \(allowed.map { "{\($0)}" }.joined(separator: ", ")))"
        }
    }
}
