import AtomicFile
import CVips
import Foundation

extension VipsImage {
    /// Writes `frames` as an endlessly looping animated GIF or WebP (chosen by
    /// the extension of `path`), atomically, each frame shown for `1/fps`
    /// seconds (GIF stores hundredths of a second). Frames are normalised to
    /// 8-bit sRGB and must all have the same size.
    public static func saveAnimation(frames: [VipsImage], fps: Double, to path: String) throws {
        guard let format = OutputFormat(path: path), format == .gif || format == .webp else {
            throw VipsError.unsupportedOutputFormat(path: path)
        }
        guard !frames.isEmpty else {
            throw VipsError.invalidArgument(name: "frames", reason: "no frames to write to \(path)")
        }
        guard fps > 0, fps.isFinite else {
            throw VipsError.invalidArgument(name: "fps", reason: "\(fps) must be positive and finite")
        }
        // GIF stores at most 65535 hundredths of a second per frame.
        let delay = Int32(min(max(1, (1000 / fps).rounded()), 655_350))
        let normalized = try frames.map { try $0.normalizedSRGB() }

        var pointers: [UnsafeMutablePointer<_VipsImage>?] = normalized.map { $0.pointer }
        var joined: UnsafeMutablePointer<_VipsImage>?
        let status = withExtendedLifetime(normalized) {
            cvips_animation(&pointers, Int32(pointers.count), delay, &joined)
        }
        guard status == 0, let animation = joined else {
            throw VipsError.writeFailed(path: path, reason: VipsRuntime.takeError())
        }
        let strip = VipsImage(owning: animation)
        let data: Data
        do {
            data = try strip.encoded(as: format, quality: 90)
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
