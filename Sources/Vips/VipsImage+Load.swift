import CVips
import Foundation

extension VipsImage {
    /// Images with more pixels than this are refused unless the caller says otherwise.
    public static let defaultMaxPixels = 50_000_000

    /// Loaders this project accepts, by libvips nickname prefix.
    static let allowedLoaders = ["pngload", "jpegload", "webpload", "tiffload", "gifload"]

    /// Loads and fully decodes a PNG, JPEG, WebP, TIFF or GIF file (first frame
    /// of an animation, first page of a TIFF). The size is checked against
    /// `maxPixels` from the header, before any pixel is decoded. Pixels keep
    /// their stored bands and depth: see `normalizedSRGB()`.
    public static func load(path: String, maxPixels: Int = defaultMaxPixels) throws -> VipsImage {
        try VipsRuntime.initialize()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw VipsError.fileNotFound(path: path)
        }
        if isDirectory.boolValue {
            throw VipsError.unsupportedFormat(path: path, detail: "a directory")
        }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        if (attributes?[.size] as? NSNumber)?.intValue == 0 {
            throw VipsError.emptyFile(path: path)
        }
        try checkLoader(cvips_loader_for_file(path), path: path)
        var header: UnsafeMutablePointer<_VipsImage>?
        guard cvips_open_file(path, &header) == 0, let opened = header else {
            throw headerError(path: path, reason: VipsRuntime.takeError())
        }
        return try decode(VipsImage(owning: opened), path: path, maxPixels: maxPixels)
    }

    /// Loads and fully decodes an encoded image held in memory, with the same
    /// rules as `load(path:maxPixels:)`. `name` stands for the file in errors.
    public static func load(data: Data, name: String = "<memory>",
                            maxPixels: Int = defaultMaxPixels) throws -> VipsImage {
        try VipsRuntime.initialize()
        if data.isEmpty {
            throw VipsError.emptyFile(path: name)
        }
        return try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> VipsImage in
            let base = bytes.baseAddress!
            try checkLoader(cvips_loader_for_buffer(base, bytes.count), path: name)
            var header: UnsafeMutablePointer<_VipsImage>?
            guard cvips_open_buffer(base, bytes.count, &header) == 0, let opened = header else {
                throw headerError(path: name, reason: VipsRuntime.takeError())
            }
            // Decoding inside the closure: libvips reads `data` lazily until then.
            return try decode(VipsImage(owning: opened), path: name, maxPixels: maxPixels)
        }
    }

    private static func checkLoader(_ loader: UnsafePointer<CChar>?, path: String) throws {
        guard let loader else {
            _ = VipsRuntime.takeError()
            throw VipsError.unsupportedFormat(path: path, detail: "no image loader recognises its bytes")
        }
        let name = String(cString: loader)
        guard allowedLoaders.contains(where: { name.hasPrefix($0) }) else {
            throw VipsError.unsupportedFormat(path: path, detail: "detected \(name)")
        }
    }

    /// libvips says nothing structured about why a header was refused; a zero
    /// dimension shows up in the loader's text ("Image width is zero in IHDR").
    private static func headerError(path: String, reason: String) -> VipsError {
        let text = reason.lowercased()
        let zero = (text.contains("width") || text.contains("height") || text.contains("dimension"))
            && (text.contains("zero") || text.contains(" 0 "))
        return zero ? .zeroSized(path: path, reason: reason) : .corrupt(path: path, reason: reason)
    }

    private static func decode(_ header: VipsImage, path: String, maxPixels: Int) throws -> VipsImage {
        let width = header.width, height = header.height
        if width <= 0 || height <= 0 {
            throw VipsError.zeroSized(path: path, reason: "header says \(width)x\(height)")
        }
        if width * height > maxPixels {
            throw VipsError.tooManyPixels(path: path, width: width, height: height, limit: maxPixels)
        }
        var decoded: UnsafeMutablePointer<_VipsImage>?
        guard cvips_decode(header.pointer, &decoded) == 0, let pixels = decoded else {
            throw VipsError.corrupt(path: path, reason: VipsRuntime.takeError())
        }
        return VipsImage(owning: pixels)
    }
}
