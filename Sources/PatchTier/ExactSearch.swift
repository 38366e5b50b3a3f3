/// Exact nearest patches by brute force: every query against every key. Queries x keys
/// distances (46 000^2 = 2.1e9 for a 250-pixel image, about 0.3 TFLOP), so it serves as the
/// reference the tests hold PatchMatch to, and for small images; memory stays one field.
enum ExactSearch {
    /// Sets every match of `field` to the cheapest key (the first in scan order among equals).
    static func search(_ field: inout PatchField, queries: PatchImage, keys: PatchImage, weights: [Float]?,
                       threads: Int) {
        precondition(field.fits(queries, keys), "the field does not map these images")
        precondition(weights == nil || weights!.count == keys.patchCount, "one weight per key position")
        let columns = field.columns, rows = field.rows
        let keyColumns = field.keyColumns, keyRows = field.keyRows
        let qStride = queries.rowStride, kStride = keys.rowStride
        let weighted = weights != nil
        queries.pixels.withUnsafeBufferPointer { qBuffer in
        keys.pixels.withUnsafeBufferPointer { kBuffer in
        (weights ?? [0]).withUnsafeBufferPointer { wBuffer in
        field.keys.withUnsafeMutableBufferPointer { matches in
        field.costs.withUnsafeMutableBufferPointer { costs in
            let q = qBuffer.baseAddress!, k = kBuffer.baseAddress!, w = wBuffer.baseAddress!
            let bands = Bands(rows: rows)
            Bands.parallel(bands.count, threads: threads) { band in
                for y in bands.rows(band) {
                    for x in 0..<columns {
                        let qPatch = q + y * qStride + x * PatchImage.channels
                        var best: UInt32 = 0, bestCost = Float.infinity
                        for ky in 0..<keyRows {
                            for kx in 0..<keyColumns {
                                let kPatch = k + ky * kStride + kx * PatchImage.channels
                                let c: Float
                                if weighted {
                                    let weight = w[ky * keyColumns + kx]
                                    c = PatchDistance.squared(qPatch, qStride, kPatch, kStride, bound: bestCost / weight) * weight
                                } else {
                                    c = PatchDistance.squared(qPatch, qStride, kPatch, kStride, bound: bestCost)
                                }
                                if c < bestCost { bestCost = c; best = PatchField.pack(kx, ky) }
                            }
                        }
                        matches[y * columns + x] = best
                        costs[y * columns + x] = bestCost
                    }
                }
            }
        }}}}}
    }
}
