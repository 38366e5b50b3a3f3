/// Everything that can go wrong reading, converting or writing an image.
/// Each message names the file (or operation) and the reason.
public enum VipsError: Error, CustomStringConvertible, Equatable {
    /// No file at this path.
    case fileNotFound(path: String)
    /// The file exists but holds no bytes.
    case emptyFile(path: String)
    /// The path is a symbolic link (where links are refused), a FIFO, a device or a socket:
    /// only regular files are read.
    case notRegularFile(path: String, kind: String)
    /// The file is longer than the caller allows (checked before reading).
    case tooLarge(path: String, bytes: Int, limit: Int)
    /// No allowed loader (PNG, JPEG, WebP, TIFF, GIF) recognises the file.
    case unsupportedFormat(path: String, detail: String)
    /// The header declares a zero width or height.
    case zeroSized(path: String, reason: String)
    /// The header declares more pixels than the caller allows.
    case tooManyPixels(path: String, width: Int, height: Int, limit: Int)
    /// The file is truncated or its data is damaged.
    case corrupt(path: String, reason: String)
    /// The output extension names no format this module can write.
    case unsupportedOutputFormat(path: String)
    /// Encoding or writing the output failed; nothing was left at `path`.
    case writeFailed(path: String, reason: String)
    /// A pixel operation failed.
    case operationFailed(operation: String, reason: String)
    /// A caller passed a value the operation cannot accept.
    case invalidArgument(name: String, reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "\(path): no such file"
        case .emptyFile(let path):
            return "\(path): empty file (0 bytes)"
        case .notRegularFile(let path, let kind):
            return "\(path): \(kind), not a regular file; only regular files are read"
        case .tooLarge(let path, let bytes, let limit):
            return "\(path): \(bytes) bytes, over the limit of \(limit) bytes for an input"
        case .unsupportedFormat(let path, let detail):
            return "\(path): unsupported image format (\(detail)); expected PNG, JPEG, WebP, TIFF or GIF"
        case .zeroSized(let path, let reason):
            return "\(path): zero-sized image (\(reason))"
        case .tooManyPixels(let path, let width, let height, let limit):
            return "\(path): \(width)x\(height) is \(width * height) pixels, over the limit of \(limit)"
        case .corrupt(let path, let reason):
            return "\(path): truncated or corrupt image (\(reason))"
        case .unsupportedOutputFormat(let path):
            return "\(path): cannot write this extension; use .png, .jpg, .jpeg, .webp, .tif, .tiff or .gif"
        case .writeFailed(let path, let reason):
            return "\(path): write failed (\(reason))"
        case .operationFailed(let operation, let reason):
            return "\(operation) failed: \(reason)"
        case .invalidArgument(let name, let reason):
            return "invalid \(name): \(reason)"
        }
    }
}
