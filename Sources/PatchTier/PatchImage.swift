import Vips

/// An RGB image as the patch engine reads it: values in [0, 1], four floats per pixel (red,
/// green, blue and a zero), rows one after another.
///
/// Why four: a 7-pixel patch row is then 28 contiguous floats, which `PatchDistance` reads as one
/// 16-, one 8- and one 4-wide vector; the zero lane adds nothing to a distance.
public struct PatchImage: Sendable, Equatable {
    /// Floats per pixel.
    public static let channels = 4

    public let width: Int
    public let height: Int
    /// `channels` floats per pixel, row-major: pixel (x, y) starts at `(y * width + x) * channels`.
    public var pixels: [Float]

    /// An image of `width` x `height` pixels from `pixels` (four floats each).
    public init(width: Int, height: Int, pixels: [Float]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height * Self.channels,
                     "\(pixels.count) floats for \(width)x\(height) pixels")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// An image filled with one colour (components in [0, 1]).
    public init(width: Int, height: Int, red: Float, green: Float, blue: Float) {
        var pixels = [Float](repeating: 0, count: width * height * Self.channels)
        for p in 0..<width * height {
            pixels[p * 4] = red; pixels[p * 4 + 1] = green; pixels[p * 4 + 2] = blue
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    /// The image file at `path`, made 8-bit sRGB (alpha flattened onto white, grey made RGB).
    public init(contentsOf path: String, maxPixels: Int = VipsImage.defaultMaxPixels) throws(PatchTierError) {
        do {
            try self.init(try VipsImage.load(path: path, maxPixels: maxPixels))
        } catch let error as PatchTierError {
            throw error
        } catch {
            throw .unreadableImage(path: path, reason: "\(error)")
        }
    }

    /// The pixels of a libvips image, made 8-bit sRGB first.
    public init(_ image: VipsImage) throws(PatchTierError) {
        let planes: [Float]
        do { planes = try image.normalizedSRGB().planarFloats() } catch {
            throw .imageOperation(reason: "\(error)")
        }
        self.init(width: image.width, height: image.height, planarUnit: planes)
    }

    /// From three channel-major planes in [-1, 1] (the range of `VipsImage.planarFloats`).
    init(width: Int, height: Int, planarUnit planes: [Float]) {
        let plane = width * height
        var pixels = [Float](repeating: 0, count: plane * Self.channels)
        for p in 0..<plane {
            for c in 0..<3 { pixels[p * 4 + c] = (planes[c * plane + p] + 1) * 0.5 }
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    /// Three channel-major planes in [-1, 1].
    func planarUnit() -> [Float] {
        let plane = width * height
        var planes = [Float](repeating: 0, count: plane * 3)
        for p in 0..<plane {
            for c in 0..<3 { planes[c * plane + p] = pixels[p * 4 + c] * 2 - 1 }
        }
        return planes
    }

    /// As an 8-bit sRGB libvips image (values clamped to [0, 1], then rounded).
    public func vipsImage() throws(PatchTierError) -> VipsImage {
        do { return try VipsImage.fromPlanarFloats(planarUnit(), width: width, height: height, channels: 3) } catch {
            throw .imageOperation(reason: "\(error)")
        }
    }

    /// Writes the image; the extension picks the format (see `VipsImage.save`).
    public func save(to path: String) throws(PatchTierError) {
        do { try vipsImage().save(to: path) } catch let error as PatchTierError { throw error } catch {
            throw .imageOperation(reason: "\(error)")
        }
    }

    /// Resized to exactly `width` x `height`: bicubic, antialiased when shrinking, in floating
    /// point (no rounding to 8 bits, no clamping).
    public func resized(width: Int, height: Int) throws(PatchTierError) -> PatchImage {
        if width == self.width && height == self.height { return self }
        do {
            let planes = try resizePlanar(planarUnit(), channels: 3, height: self.height, width: self.width,
                                          toHeight: height, toWidth: width)
            return PatchImage(width: width, height: height, planarUnit: planes)
        } catch {
            throw .imageOperation(reason: "\(error)")
        }
    }

    /// Patch positions per row: patches lie wholly inside the image.
    var patchColumns: Int { width - PatchDistance.side + 1 }
    /// Patch positions per column.
    var patchRows: Int { height - PatchDistance.side + 1 }
    /// Every patch position.
    var patchCount: Int { patchColumns * patchRows }
    /// Floats per row of pixels.
    var rowStride: Int { width * Self.channels }
}
