import CVips
import Foundation

/// An image held by libvips. The object owns one reference to its libvips
/// image and drops it in `deinit`, so memory is freed as soon as the last
/// Swift reference goes. Images are immutable: every operation returns a new
/// one, and they may be shared between threads.
/// `@unchecked`: the wrapped libvips image is immutable and libvips counts its references atomically.
public final class VipsImage: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<_VipsImage>

    /// Takes over one reference the caller owns.
    init(owning pointer: UnsafeMutablePointer<_VipsImage>) {
        self.pointer = pointer
    }

    deinit {
        g_object_unref(pointer)
    }

    /// Width in pixels.
    public var width: Int { Int(vips_image_get_width(pointer)) }
    /// Height in pixels.
    public var height: Int { Int(vips_image_get_height(pointer)) }
    /// Bands per pixel as stored: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA or CMYK.
    public var bands: Int { Int(vips_image_get_bands(pointer)) }
    /// The numeric type of each band.
    public var pixelFormat: PixelFormat { PixelFormat(vips_image_get_format(pointer)) }

    /// The file format the pixels were decoded from ("png", "jpeg", "webp",
    /// "tiff", "gif"), kept through later operations; nil for images built
    /// from memory buffers of pixels.
    public var formatName: String? {
        guard let loader = cvips_loader_name(pointer) else { return nil }
        let name = String(cString: loader)
        guard let end = name.range(of: "load") else { return name }
        return String(name[..<end.lowerBound])
    }

    /// Frames (pages) in the file this image was loaded from; 1 for still images.
    /// Loading always decodes the first frame only.
    public var pageCount: Int { Int(cvips_page_count(pointer)) }

    /// The display time of each frame of an animation, in milliseconds (empty for still images).
    /// WebP's encoder stores identical consecutive frames once, with their times added, so an
    /// animation's total time is the robust measure of its length, not its frame count.
    public var frameDelays: [Int] {
        let count = Int(cvips_frame_delays(pointer, nil, 0))
        guard count > 0 else { return [] }
        var delays = [Int32](repeating: 0, count: count)
        _ = cvips_frame_delays(pointer, &delays, Int32(count))
        return delays.map(Int.init)
    }

    var interpretation: VipsInterpretation { vips_image_get_interpretation(pointer) }

    /// Runs a libvips operation that writes one output image.
    func apply(_ operation: String,
               _ body: (UnsafeMutablePointer<_VipsImage>,
                        UnsafeMutablePointer<UnsafeMutablePointer<_VipsImage>?>) -> Int32) throws -> VipsImage {
        var out: UnsafeMutablePointer<_VipsImage>?
        guard body(pointer, &out) == 0, let result = out else {
            throw VipsError.operationFailed(operation: operation, reason: VipsRuntime.takeError())
        }
        return VipsImage(owning: result)
    }
}
