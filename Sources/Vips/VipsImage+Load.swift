import CVips
import Foundation

extension VipsImage {
    /// Images with more pixels than this are refused unless the caller says otherwise.
    public static let defaultMaxPixels = 50_000_000

    /// Loaders this project accepts, by libvips nickname prefix.
    static let allowedLoaders = ["pngload", "jpegload", "webpload", "tiffload", "gifload"]

    /// Held through each load, header to last pixel: libvips reports some decoding failures
    /// only as process-wide warnings (a PNG without its pixel data, see `cvips_decode`), which
    /// can be told apart only while one load runs at a time. Loads are short next to the work
    /// done on the pixels, so the daemon's workers seldom wait here.
    private static let loads = NSLock()

    /// The largest file, in bytes, a load reads for a `maxPixels` limit: 10 bytes a pixel (16-bit
    /// RGBA stored uncompressed is 8) plus 16 MiB of metadata, so 516 MB for the default 50
    /// megapixels. Checked before a byte is read: a 10 GB sparse `.png` is refused at once.
    public static func maxBytes(forPixels maxPixels: Int) -> Int {
        16 << 20 + 10 * max(0, maxPixels)
    }

    /// Loads and fully decodes a PNG, JPEG, WebP, TIFF or GIF file (first frame
    /// of an animation, first page of a TIFF); a file whose pixel data is missing or cut short
    /// is refused (`corrupt`), even where libvips only warns. Only a regular file is read (a FIFO or a device
    /// would block or never end), at most `maxBytes(forPixels: maxPixels)` long, through one
    /// open descriptor; `followLinks: false` also refuses a symbolic link (`O_NOFOLLOW`). The
    /// size is checked against `maxPixels` from the header, before any pixel is decoded. Pixels
    /// keep their stored bands and depth: see `normalizedSRGB()`.
    public static func load(path: String, maxPixels: Int = defaultMaxPixels, followLinks: Bool = true) throws -> VipsImage {
        try withHeader(path: path, maxPixels: maxPixels, followLinks: followLinks) { header in
            try decode(header, path: path, maxPixels: maxPixels)
        }
    }

    /// The width and height of the image file at `path`, from its header alone (nothing is
    /// decoded), with the same checks as `load`.
    public static func headerSize(path: String, maxPixels: Int = defaultMaxPixels) throws -> (width: Int, height: Int) {
        try withHeader(path: path, maxPixels: maxPixels, followLinks: true) { ($0.width, $0.height) }
    }

    /// Opens the file's header through one checked descriptor and passes it to `body`, while
    /// the descriptor and its source are alive (libvips reads pixels from them lazily).
    private static func withHeader<T>(path: String, maxPixels: Int, followLinks: Bool, _ body: (VipsImage) throws -> T) throws -> T {
        try VipsRuntime.initialize()
        loads.lock()
        defer { loads.unlock() }
        let fd = try InputFile.open(path, maxBytes: maxBytes(forPixels: maxPixels), followLinks: followLinks)
        defer { close(fd) }
        guard let source = cvips_source_for_descriptor(fd) else {
            throw VipsError.corrupt(path: path, reason: VipsRuntime.takeError())
        }
        defer { cvips_source_free(source) }
        try checkLoader(cvips_loader_for_source(source), path: path)
        var header: UnsafeMutablePointer<_VipsImage>?
        guard cvips_open_source(source, &header) == 0, let opened = header else {
            throw headerError(path: path, reason: VipsRuntime.takeError())
        }
        return try body(VipsImage(owning: opened))
    }

    /// Loads and fully decodes an encoded image held in memory, with the same
    /// rules as `load(path:maxPixels:)`. `name` stands for the file in errors.
    public static func load(data: Data, name: String = "<memory>",
                            maxPixels: Int = defaultMaxPixels) throws -> VipsImage {
        try VipsRuntime.initialize()
        if data.isEmpty {
            throw VipsError.emptyFile(path: name)
        }
        loads.lock()
        defer { loads.unlock() }
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
