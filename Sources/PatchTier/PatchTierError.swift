/// Everything the patch engine refuses, each with a message that names the input and the reason.
public enum PatchTierError: Error, CustomStringConvertible, Equatable {
    /// The input image could not be read or decoded.
    case unreadableImage(path: String, reason: String)
    /// An image is smaller than one patch on a side, so it has no patch to match.
    case imageTooSmall(role: String, width: Int, height: Int)
    /// A requested output is larger than the allowed side.
    case outputTooLarge(width: Int, height: Int, limit: Int)
    /// A requested output is smaller than one patch on a side.
    case outputTooSmall(width: Int, height: Int)
    /// A setting is outside its range.
    case invalidSetting(name: String, reason: String)
    /// libvips failed while resizing or converting pixels.
    case imageOperation(reason: String)
    /// The caller stopped the run (its progress callback returned false).
    case cancelled

    public var description: String {
        let side = PatchDistance.side
        switch self {
        case .unreadableImage(let path, let reason):
            return "cannot read the image \(path): \(reason)"
        case .imageTooSmall(let role, let width, let height):
            return "the \(role) is \(width)x\(height), smaller than one \(side)x\(side) patch"
        case .outputTooLarge(let width, let height, let limit):
            return "an output of \(width)x\(height) is over the limit of \(limit) pixels a side"
        case .outputTooSmall(let width, let height):
            return "an output of \(width)x\(height) is smaller than one \(side)x\(side) patch"
        case .invalidSetting(let name, let reason):
            return "\(name): \(reason)"
        case .imageOperation(let reason):
            return "image operation failed: \(reason)"
        case .cancelled:
            return "cancelled"
        }
    }
}
