/// Approximate nearest patches by PatchMatch (Barnes, Shechtman, Finkelstein, Goldman 2009):
/// each query keeps its best match so far and tries, in scan order, the shifted matches of the
/// neighbours it has already visited (good matches spread along coherent regions) and a few
/// random positions in windows halving around its best (which finds them in the first place).
///
/// Work is about (2 + log2(key side)) distances per query and iteration, near-linear in the
/// number of pixels, against the queries x keys distances of an exact search: 10 instead of
/// 46 000 per query for a 250-pixel image.
enum PatchMatch {
    /// Improves `field` (a start: random, resampled from a coarser level, or a previous pass)
    /// for `iterations` iterations, alternately scanning forwards and backwards. With `weights`
    /// (one per key position, `ky * keyColumns + kx`), a match costs its squared distance times
    /// its key's weight. Deterministic for a seed, whatever `threads` is.
    static func search(_ field: inout PatchField, queries: PatchImage, keys: PatchImage, weights: [Float]?,
                       iterations: Int, seed: UInt64, threads: Int) {
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

            /// The cost of matching the query patch at `qOffset` with `key`; above `bound` (but
            /// not exact) once it cannot be below it.
            @inline(__always) func cost(_ qOffset: Int, _ key: UInt32, bound: Float) -> Float {
                let kx = Int(key & 0xFFFF), ky = Int(key >> 16)
                let kOffset = ky * kStride + kx * PatchImage.channels
                guard weighted else {
                    return PatchDistance.squared(q + qOffset, qStride, k + kOffset, kStride, bound: bound)
                }
                let weight = w[ky * keyColumns + kx]
                return PatchDistance.squared(q + qOffset, qStride, k + kOffset, kStride, bound: bound / weight) * weight
            }

            // The starting matches' costs under these images and weights.
            let all = Bands(rows: rows)
            Bands.parallel(all.count, threads: threads) { band in
                for y in all.rows(band) {
                    for x in 0..<columns {
                        costs[y * columns + x] = cost(y * qStride + x * PatchImage.channels,
                                                      matches[y * columns + x], bound: .infinity)
                    }
                }
            }

            for iteration in 0..<iterations {
                let forwards = iteration % 2 == 0
                let bands = Bands(rows: rows, shifted: !forwards)
                Bands.parallel(bands.count, threads: threads) { band in
                    var random = PatchRandom(seed: seed, iteration, band)
                    let bandRows = bands.rows(band)
                    for row in 0..<bandRows.count {
                        let y = forwards ? bandRows.lowerBound + row : bandRows.upperBound - 1 - row
                        for column in 0..<columns {
                            let x = forwards ? column : columns - 1 - column
                            let i = y * columns + x
                            let qOffset = y * qStride + x * PatchImage.channels
                            var best = matches[i], bestCost = costs[i]

                            @inline(__always) func consider(_ candidate: UInt32) {
                                guard candidate != best else { return }
                                let c = cost(qOffset, candidate, bound: bestCost)
                                if c < bestCost { best = candidate; bestCost = c }
                            }

                            // Propagation: the neighbours visited before, their matches shifted
                            // by one, as long as the neighbour lies in this band.
                            if forwards {
                                if x > 0 {
                                    let (mx, my) = PatchField.unpack(matches[i - 1])
                                    if mx + 1 < keyColumns { consider(PatchField.pack(mx + 1, my)) }
                                }
                                if y > bandRows.lowerBound {
                                    let (mx, my) = PatchField.unpack(matches[i - columns])
                                    if my + 1 < keyRows { consider(PatchField.pack(mx, my + 1)) }
                                }
                            } else {
                                if x < columns - 1 {
                                    let (mx, my) = PatchField.unpack(matches[i + 1])
                                    if mx > 0 { consider(PatchField.pack(mx - 1, my)) }
                                }
                                if y < bandRows.upperBound - 1 {
                                    let (mx, my) = PatchField.unpack(matches[i + columns])
                                    if my > 0 { consider(PatchField.pack(mx, my - 1)) }
                                }
                            }

                            // Random search in windows halving around the best match.
                            var radius = max(keyColumns, keyRows)
                            while radius >= 1 {
                                let (bx, by) = PatchField.unpack(best)
                                let x0 = max(0, bx - radius), x1 = min(keyColumns - 1, bx + radius)
                                let y0 = max(0, by - radius), y1 = min(keyRows - 1, by + radius)
                                consider(PatchField.pack(x0 + random.below(x1 - x0 + 1), y0 + random.below(y1 - y0 + 1)))
                                radius >>= 1
                            }
                            matches[i] = best
                            costs[i] = bestCost
                        }
                    }
                }
            }
        }}}}}
    }
}
