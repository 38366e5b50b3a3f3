import CVips

extension VipsImage {
    /// The image as 3-band 8-bit sRGB, the form the SinGAN pyramid trains on:
    /// CMYK, 16-bit, float and other colour spaces are converted by libvips;
    /// alpha is composited onto white (transparent pixels become white);
    /// a grey image becomes 3 identical bands.
    public func normalizedSRGB() throws -> VipsImage {
        var image = self
        let needsConversion = image.pixelFormat != .uchar || image.interpretation == VIPS_INTERPRETATION_CMYK
        if needsConversion, vips_colourspace_issupported(image.pointer) != 0 {
            image = try image.apply("colourspace to sRGB") { cvips_colourspace($0, $1, VIPS_INTERPRETATION_sRGB) }
        }
        if image.pixelFormat != .uchar {
            image = try image.apply("cast to 8 bits") { cvips_cast($0, $1, VIPS_FORMAT_UCHAR) }
        }
        if image.bands == 2 || image.bands == 4 {
            image = try image.apply("flatten alpha") { cvips_flatten_white($0, $1, 255) }
        }
        if image.bands == 1 {
            image = try image.apply("grey to 3 bands") { cvips_replicate_bands($0, $1, 3) }
        } else if image.bands > 3 {
            image = try image.apply("keep 3 bands") { cvips_extract_bands($0, $1, 0, 3) }
        }
        return image
    }
}
