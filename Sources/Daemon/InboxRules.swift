/// Which files in an inbox are jobs.
enum InboxRules {
    /// Extensions of files still being written by browsers, editors and copy tools.
    static let temporaryExtensions: Set<String> = ["tmp", "temp", "part", "partial", "crdownload", "download", "swp", "swx", "lock"]

    /// Hidden files (`.name`), editor backups (`name~`), partial downloads and error reports are
    /// never picked up.
    static func isIgnored(_ name: String) -> Bool {
        if name.hasPrefix(".") || name.hasSuffix("~") || name.hasSuffix(".error.txt") { return true }
        guard let dot = name.lastIndex(of: ".") else { return false }
        return temporaryExtensions.contains(name[name.index(after: dot)...].lowercased())
    }
}
