import Foundation

/// Limits checked on a pipeline file before the YAML parser sees it. The parser recurses once
/// per nesting level: 10 KB of 5000 `[` overflow its stack and kill the process, which no
/// error handling can catch. A real pipeline is a few hundred bytes nested 5 deep.
public enum PipelineLimits {
    /// Largest pipeline file read, in bytes (the longest shipped pipeline is under 1 KB).
    public static let maxBytes = 64 << 10
    /// Deepest nesting accepted: block levels (indentation, `- ` entries) plus flow levels
    /// (`[`, `{`). The deepest shipped pipeline nests 5 levels; libyaml's own limit is 1000.
    public static let maxDepth = 64

    /// The 1-based line and column where nesting first goes deeper than `maxDepth`, or `nil`.
    /// A conservative scan, not a parser: quoted text, comments and block scalars' content are
    /// skipped; anything it miscounts the parser still checks, with the stack this scan bounds.
    public static func tooDeep(_ text: String, maxDepth: Int = maxDepth) -> (line: Int, column: Int)? {
        var indents: [Int] = []       // columns of the open block levels
        var flow = 0                  // open `[` and `{`
        var quote: Character?         // inside a quoted scalar (they may span lines)
        var blockScalar: Int?         // inside a `|` or `>` scalar opened at this indent
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let chars = Array(line)
            let indent = chars.prefix { $0 == " " }.count
            let blank = indent == chars.count || chars[indent] == "#"
            if let opened = blockScalar {
                if blank || indent > opened { continue }
                blockScalar = nil
            }
            if blank && quote == nil { continue }
            var column = indent
            if flow == 0 && quote == nil {
                while let last = indents.last, last >= indent { indents.removeLast() }
                indents.append(indent)
                if indents.count > maxDepth { return (number + 1, column + 1) }
                // `- - x` and `? x` open one more level each on the same line.
                while column + 1 < chars.count, chars[column] == "-" || chars[column] == "?", chars[column + 1] == " " {
                    column += 2
                    while column < chars.count, chars[column] == " " { column += 1 }
                    indents.append(column)
                    if indents.count > maxDepth { return (number + 1, column + 1) }
                }
            }
            var previous: Character = " "
            var i = column
            while i < chars.count {
                let c = chars[i]
                if let q = quote {
                    if q == "\"" && c == "\\" { i += 2; continue }
                    if c == q {
                        if q == "'" && i + 1 < chars.count && chars[i + 1] == "'" { i += 2; continue }
                        quote = nil
                    }
                } else if c == "#" && (previous == " " || previous == "\t") {
                    break
                } else if (c == "\"" || c == "'") && " \t[{,:-?".contains(previous) {
                    quote = c
                } else if c == "[" || c == "{" {
                    flow += 1
                    if indents.count + flow > maxDepth { return (number + 1, i + 1) }
                } else if c == "]" || c == "}" {
                    flow = max(0, flow - 1)
                }
                previous = c
                i += 1
            }
            // `key: |`, `- >-`: the lines indented under it are text, not structure.
            if quote == nil && flow == 0,
               line.range(of: #"(^|[ :-])[|>][0-9+-]*[ \t]*(#.*)?$"#, options: .regularExpression) != nil {
                blockScalar = indent
            }
        }
        return nil
    }
}
