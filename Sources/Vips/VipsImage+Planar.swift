import CVips

/// 8-bit value to the network's range: `clamp((v/255 - 0.5) * 2, -1, 1)`.
@inline(__always)
func unitFromByte(_ value: UInt8) -> Float {
    min(max((Float(value) / 255 - 0.5) * 2, -1), 1)
}

/// The network's range back to 8 bits: `round(clamp((x + 1)/2, 0, 1) * 255)`; NaN becomes 0.
@inline(__always)
func byteFromUnit(_ value: Float) -> UInt8 {
    guard !value.isNaN else { return 0 }
    return UInt8((min(max((value + 1) / 2, 0), 1) * 255).rounded())
}

extension VipsImage {
    /// The pixels as channel-major (planar) floats in [-1, 1]: element
    /// `c * height * width + y * width + x` is band c of pixel (x, y).
    /// The image must be 8-bit (see `normalizedSRGB()`); every band is kept.
    public func planarFloats() throws -> [Float] {
        guard pixelFormat == .uchar else {
            throw VipsError.invalidArgument(name: "image", reason: "planarFloats needs 8-bit pixels, got \(pixelFormat.rawValue)")
        }
        let bytes = try interleavedBytes()
        let channels = bands, plane = width * height
        return [Float](unsafeUninitializedCapacity: bytes.count) { output, count in
            for pixel in 0..<plane {
                for channel in 0..<channels {
                    output[channel * plane + pixel] = unitFromByte(bytes[pixel * channels + channel])
                }
            }
            count = bytes.count
        }
    }

    /// An 8-bit image from channel-major floats in [-1, 1] (values outside
    /// are clamped). 3 channels are tagged sRGB, 1 channel grey.
    public static func fromPlanarFloats(_ data: [Float], width: Int, height: Int, channels: Int) throws -> VipsImage {
        try checkPlanarShape(data.count, channels: channels, height: height, width: width)
        let plane = width * height
        var bytes = [UInt8](repeating: 0, count: data.count)
        for pixel in 0..<plane {
            for channel in 0..<channels {
                bytes[pixel * channels + channel] = byteFromUnit(data[channel * plane + pixel])
            }
        }
        let interpretation = channels >= 3 ? VIPS_INTERPRETATION_sRGB : VIPS_INTERPRETATION_B_W
        return try fromInterleaved(bytes, width: width, height: height, bands: channels,
                                   format: VIPS_FORMAT_UCHAR, interpretation: interpretation)
    }

    /// Copies `values` (pixel-interleaved) into a new memory image.
    static func fromInterleaved<T>(_ values: [T], width: Int, height: Int, bands: Int,
                                   format: VipsBandFormat, interpretation: VipsInterpretation) throws -> VipsImage {
        try VipsRuntime.initialize()
        let created = values.withUnsafeBytes { bytes in
            vips_image_new_from_memory_copy(bytes.baseAddress, bytes.count, Int32(width), Int32(height),
                                            Int32(bands), format)
        }
        guard let created else {
            throw VipsError.operationFailed(operation: "image from memory", reason: VipsRuntime.takeError())
        }
        // A fresh image nobody else holds yet, so setting its field in place is safe.
        created.pointee.Type = interpretation
        return VipsImage(owning: created)
    }

    /// The pixels as one interleaved array of the image's own band type.
    func interleaved<T>(as type: T.Type) throws -> [T] {
        var size = 0
        guard let memory = vips_image_write_to_memory(pointer, &size) else {
            throw VipsError.operationFailed(operation: "read pixels", reason: VipsRuntime.takeError())
        }
        defer { g_free(memory) }
        let count = size / MemoryLayout<T>.stride
        return [T](UnsafeBufferPointer(start: memory.bindMemory(to: T.self, capacity: count), count: count))
    }

    /// The 8-bit pixels, interleaved.
    func interleavedBytes() throws -> [UInt8] {
        try interleaved(as: UInt8.self)
    }
}

func checkPlanarShape(_ count: Int, channels: Int, height: Int, width: Int) throws {
    guard channels > 0, height > 0, width > 0 else {
        throw VipsError.invalidArgument(name: "shape", reason: "\(channels)x\(height)x\(width) must be positive")
    }
    guard count == channels * height * width else {
        throw VipsError.invalidArgument(
            name: "data", reason: "\(count) values for \(channels)x\(height)x\(width) (\(channels * height * width) expected)")
    }
}
