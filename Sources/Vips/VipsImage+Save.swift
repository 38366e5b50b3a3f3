import AtomicFile
import CVips
import Foundation

/// Encodings `VipsImage.save(to:quality:)` can write, chosen by file extension.
public enum OutputFormat: String, Sendable {
    case png, jpeg, webp, tiff, gif

    /// The format named by the extension of `path` (case-insensitive), or nil.
    public init?(path: String) {
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "png": self = .png
        case "jpg", "jpeg": self = .jpeg
        case "webp": self = .webp
        case "tif", "tiff": self = .tiff
        case "gif": self = .gif
        default: return nil
        }
    }
}

extension VipsImage {
    /// The image encoded in memory. `quality` (1...100) applies to JPEG and
    /// lossy WebP; PNG, TIFF and GIF ignore it.
    public func encoded(as format: OutputFormat, quality: Int = 90) throws -> Data {
        guard (1...100).contains(quality) else {
            throw VipsError.invalidArgument(name: "quality", reason: "\(quality) is outside 1...100")
        }
        var buffer: UnsafeMutableRawPointer?
        var length = 0
        let q = Int32(quality)
        let status: Int32
        switch format {
        case .png: status = cvips_pngsave_buffer(pointer, &buffer, &length)
        case .jpeg: status = cvips_jpegsave_buffer(pointer, &buffer, &length, q)
        case .webp: status = cvips_webpsave_buffer(pointer, &buffer, &length, q, 0)
        case .tiff: status = cvips_tiffsave_buffer(pointer, &buffer, &length)
        case .gif: status = cvips_gifsave_buffer(pointer, &buffer, &length)
        }
        guard status == 0, let bytes = buffer else {
            throw VipsError.operationFailed(operation: "\(format.rawValue) encode", reason: VipsRuntime.takeError())
        }
        defer { g_free(bytes) }
        return Data(bytes: bytes, count: length)
    }

    /// Writes the image to `path` in the format its extension names, atomically:
    /// the file appears complete or not at all, and a failure leaves nothing behind.
    public func save(to path: String, quality: Int = 90) throws {
        guard let format = OutputFormat(path: path) else {
            throw VipsError.unsupportedOutputFormat(path: path)
        }
        let data: Data
        do {
            data = try encoded(as: format, quality: quality)
        } catch let error as VipsError {
            throw VipsError.writeFailed(path: path, reason: error.description)
        }
        do {
            try AtomicFile.write(data, to: path)
        } catch AtomicFileError.writeFailed(_, let reason) {
            throw VipsError.writeFailed(path: path, reason: reason)
        }
    }
}
