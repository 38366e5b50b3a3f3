import Foundation

/// The hidden temporaries `AtomicFile.write` creates, `.NAME.<8 upper-case hex digits>.tmp` beside
/// the destination `NAME`: a process killed between creating one and renaming it into place
/// leaves it behind. These functions recognise and remove exactly those names; users' files
/// (hidden or not, `.tmp` or not) never match.
extension AtomicFile {
    /// A fresh temporary name for a write to the file named `name`.
    static func temporaryName(of name: String) -> String {
        ".\(name).\(UUID().uuidString.prefix(8)).tmp"
    }

    /// Whether `fileName` is the temporary of a write to a file of any name.
    public static func isTemporary(_ fileName: String) -> Bool {
        destination(ofTemporary: fileName) != nil
    }

    /// Whether `fileName` is the temporary of a write to a file named `destinationName`.
    public static func isTemporary(_ fileName: String, of destinationName: String) -> Bool {
        destination(ofTemporary: fileName) == destinationName
    }

    /// Removes the stale temporaries of writes to `path` (regular files in its folder named
    /// `.NAME.<8 hex>.tmp`, `NAME` being `path`'s file name). Returns the removed paths.
    /// Call it only when no other process can be writing `path`.
    @discardableResult
    public static func removeTemporaries(of path: String) -> [String] {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { isTemporary($0, of: url.lastPathComponent) }.compactMap { name in
            let temporary = folder + "/" + name
            var info = stat()
            guard lstat(temporary, &info) == 0, info.st_mode & S_IFMT == S_IFREG, unlink(temporary) == 0 else { return nil }
            return temporary
        }
    }

    /// `NAME` when `fileName` is `.NAME.<8 upper-case hex digits>.tmp`, else nil.
    private static func destination(ofTemporary fileName: String) -> String? {
        let suffixLength = 1 + 8 + 4  // ".XXXXXXXX.tmp"
        guard fileName.hasPrefix("."), fileName.hasSuffix(".tmp"), fileName.count > 1 + suffixLength else { return nil }
        let suffix = fileName.suffix(suffixLength)
        guard suffix.first == ".",
              suffix.dropFirst().prefix(8).allSatisfy({ ("0"..."9").contains($0) || ("A"..."F").contains($0) })
        else { return nil }
        return String(fileName.dropFirst().dropLast(suffixLength))
    }
}
