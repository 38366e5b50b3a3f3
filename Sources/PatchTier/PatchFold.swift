/// Patches back into an image: every output pixel is the plain mean of the values all the
/// patches covering it put there (up to 7 x 7 of them), as GPNN's fold does.
///
/// Written as a gather (each pixel reads the patches over it) rather than a scatter, so rows
/// are independent and bands of them run on both cores without sharing a write.
enum PatchFold {
    /// The image of `width` x `height` pixels that `field` assembles from `values`' patches
    /// (`field` maps this image's patch positions to positions in `values`).
    static func fold(_ field: PatchField, values: PatchImage, width: Int, height: Int, threads: Int) -> PatchImage {
        let side = PatchDistance.side
        precondition(field.columns == width - side + 1 && field.rows == height - side + 1, "field and size differ")
        precondition(field.keyColumns == values.patchColumns && field.keyRows == values.patchRows, "field and values differ")
        var pixels = [Float](repeating: 0, count: width * height * PatchImage.channels)
        let columns = field.columns, rows = field.rows, vStride = values.rowStride
        field.keys.withUnsafeBufferPointer { matches in
        values.pixels.withUnsafeBufferPointer { vBuffer in
        pixels.withUnsafeMutableBufferPointer { output in
            let v = UnsafeRawPointer(vBuffer.baseAddress!)
            let out = UnsafeMutableRawPointer(output.baseAddress!)
            let bands = Bands(rows: height)
            Bands.parallel(bands.count, threads: threads) { band in
                for y in bands.rows(band) {
                    let py0 = max(0, y - side + 1), py1 = min(y, rows - 1)
                    for x in 0..<width {
                        let px0 = max(0, x - side + 1), px1 = min(x, columns - 1)
                        var sum = SIMD4<Float>()
                        for py in py0...py1 {
                            for px in px0...px1 {
                                let (kx, ky) = PatchField.unpack(matches[py * columns + px])
                                let offset = (ky + y - py) * vStride + (kx + x - px) * PatchImage.channels
                                sum += v.loadUnaligned(fromByteOffset: offset * 4, as: SIMD4<Float>.self)
                            }
                        }
                        let count = Float((py1 - py0 + 1) * (px1 - px0 + 1))
                        out.storeBytes(of: sum / count, toByteOffset: (y * width + x) * PatchImage.channels * 4,
                                       as: SIMD4<Float>.self)
                    }
                }
            }
        }}}
        return PatchImage(width: width, height: height, pixels: pixels)
    }
}
