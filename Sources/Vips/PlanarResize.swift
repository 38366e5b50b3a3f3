import CVips

/// Resizes a channel-major Float32 image (`channels` x `height` x `width`)
/// to exactly `toHeight` x `toWidth`, bicubic (Catmull-Rom) and antialiased
/// when shrinking, in floating point throughout: values are neither rounded
/// to 8 bits nor clamped. Used to build the SinGAN pyramid.
public func resizePlanar(_ data: [Float], channels: Int, height: Int, width: Int,
                         toHeight: Int, toWidth: Int) throws -> [Float] {
    try checkPlanarShape(data.count, channels: channels, height: height, width: width)
    guard toHeight > 0, toWidth > 0 else {
        throw VipsError.invalidArgument(name: "target size", reason: "\(toHeight)x\(toWidth) must be positive")
    }
    if toHeight == height && toWidth == width { return data }

    let plane = height * width
    var interleaved = [Float](repeating: 0, count: data.count)
    for pixel in 0..<plane {
        for channel in 0..<channels {
            interleaved[pixel * channels + channel] = data[channel * plane + pixel]
        }
    }
    // MULTIBAND: plain numbers, so libvips applies no colour handling.
    let image = try VipsImage.fromInterleaved(interleaved, width: width, height: height, bands: channels,
                                              format: VIPS_FORMAT_FLOAT, interpretation: VIPS_INTERPRETATION_MULTIBAND)
    let resized = try image.resized(width: toWidth, height: toHeight)
    let values = try resized.interleaved(as: Float.self)

    let outPlane = toHeight * toWidth
    guard values.count == outPlane * channels else {
        throw VipsError.operationFailed(operation: "resizePlanar",
                                        reason: "libvips returned \(values.count) values, expected \(outPlane * channels)")
    }
    var output = [Float](repeating: 0, count: values.count)
    for pixel in 0..<outPlane {
        for channel in 0..<channels {
            output[channel * outPlane + pixel] = values[pixel * channels + channel]
        }
    }
    return output
}
