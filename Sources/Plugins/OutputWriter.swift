import AtomicFile
import Foundation
import Vips

/// How a task's outputs are written, the same for the command line and the daemon's job
/// executor: an output is written as produced when the destination's extension names its format
/// (`jpg` and `jpeg`, `tif` and `tiff` are one format each), an image is converted by libvips to
/// the format the extension names, and any other output cannot be converted. Writes are atomic.
public struct OutputWriter: Sendable {
    /// The largest image, in pixels, a conversion loads.
    public var maxPixels: Int
    /// Quality of JPEG and WebP conversions.
    public var quality: Int

    public init(maxPixels: Int = VipsImage.defaultMaxPixels, quality: Int = 90) {
        self.maxPixels = maxPixels
        self.quality = quality
    }

    /// Whether the file extensions `a` and `b` name the same format.
    public static func sameFormat(_ a: String, _ b: String) -> Bool {
        let a = a.lowercased(), b = b.lowercased()
        return a == b || Set([a, b]) == ["jpg", "jpeg"] || Set([a, b]) == ["tif", "tiff"]
    }

    /// Writes `artifact` to `path` atomically, converted to the format `path`'s extension names.
    public func write(_ artifact: TaskArtifact, to path: String) throws {
        if Self.sameFormat(artifact.url.pathExtension, URL(fileURLWithPath: path).pathExtension) {
            try AtomicFile.write(try Data(contentsOf: artifact.url), to: path)
        } else {
            try convert(artifact, to: path)
        }
    }

    /// A file holding `artifact` in the format the extension `ext` names: the artifact's own file
    /// when it already is one, else its conversion, written to `scratch`.
    public func file(_ artifact: TaskArtifact, as ext: String, scratch: URL) throws -> URL {
        if Self.sameFormat(artifact.url.pathExtension, ext) { return artifact.url }
        try convert(artifact, to: scratch.path)
        return scratch
    }

    /// Fails unless `url` is an image this process can load; the message calls it `role name`.
    public func checkUsableImage(_ url: URL, role: String, name: String) throws {
        do { _ = try VipsImage.load(path: url.path, maxPixels: maxPixels) } catch {
            throw TaskError(context: "\(role) \(name) is not a usable image", underlying: error)
        }
    }

    private func convert(_ artifact: TaskArtifact, to path: String) throws {
        guard artifact.kind == .image else {
            throw TaskError("cannot write \(path): the output is a .\(artifact.url.pathExtension.lowercased()) file")
        }
        try VipsImage.load(path: artifact.url.path, maxPixels: maxPixels).save(to: path, quality: quality)
    }
}
