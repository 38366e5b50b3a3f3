import Engine

/// Colour quantisation for paint to image (the authors' `quantization_flag`): a k-means palette
/// of the training image at the injection scale, and the mapping of any image onto it.

/// A palette of RGB colours in [-1, 1].
public struct Palette: Equatable, Sendable {
    /// The colours, each [r, g, b].
    public var colors: [[Float]]

    public init(colors: [[Float]]) {
        precondition(!colors.isEmpty && colors.allSatisfy { $0.count == 3 }, "Palette: needs RGB colours")
        self.colors = colors
    }

    /// The k-means palette of the pixels of an [1, 3, h, w] image: k-means++ seeding from a
    /// generator seeded with `seed`, then Lloyd iterations until no pixel changes cluster (at most
    /// `maxIterations`). Deterministic for a given image and seed.
    public init(kMeansOf image: Tensor, count k: Int = 5, seed: UInt64 = 0, maxIterations: Int = 100) {
        precondition(image.rank == 4 && image.shape[1] == 3, "Palette: needs an [1, 3, h, w] image, got \(image.shape)")
        precondition(k >= 1, "Palette: k must be positive")
        let points = pixels(of: image)
        let rng = RandomGenerator(seed: seed)
        var centers = [points[Int(rng.next() % UInt64(points.count))]]
        var nearest = points.map { squaredDistance($0, centers[0]) }
        while centers.count < k {
            // k-means++: the next centre is a pixel drawn with probability ~ squared distance.
            let total = nearest.reduce(0, +)
            var chosen = 0
            if total > 0 {
                var target = Double(rng.uniformScalar()) * Double(total)
                for (i, d) in nearest.enumerated() {
                    target -= Double(d)
                    if target <= 0 { chosen = i; break }
                    chosen = i
                }
            }
            centers.append(points[chosen])
            for i in points.indices { nearest[i] = min(nearest[i], squaredDistance(points[i], centers.last!)) }
        }
        var assignment = [Int](repeating: -1, count: points.count)
        for _ in 0..<maxIterations {
            var changed = false
            for (i, p) in points.enumerated() {
                let c = closest(p, in: centers)
                if c != assignment[i] { assignment[i] = c; changed = true }
            }
            if !changed { break }
            var sums = [[Double]](repeating: [0, 0, 0], count: k)
            var counts = [Int](repeating: 0, count: k)
            for (i, p) in points.enumerated() {
                for c in 0..<3 { sums[assignment[i]][c] += Double(p[c]) }
                counts[assignment[i]] += 1
            }
            for j in 0..<k where counts[j] > 0 {
                centers[j] = sums[j].map { Float($0 / Double(counts[j])) }
            }
        }
        self.colors = centers
    }

    /// The index of the palette colour nearest to `rgb` (Euclidean; ties to the lower index).
    public func nearestIndex(_ rgb: [Float]) -> Int { closest(rgb, in: colors) }

    /// Every pixel of an [1, 3, h, w] image replaced by its nearest palette colour.
    public func quantize(_ image: Tensor) -> Tensor {
        precondition(image.rank == 4 && image.shape[1] == 3, "Palette.quantize: needs an [1, 3, h, w] image, got \(image.shape)")
        let plane = image.shape[2] * image.shape[3]
        var out = image.scalars
        for (i, p) in pixels(of: image).enumerated() {
            let color = colors[nearestIndex(p)]
            for c in 0..<3 { out[c * plane + i] = color[c] }
        }
        return Tensor(shape: image.shape, scalars: out)
    }
}

/// The pixels of an [1, 3, h, w] image as [r, g, b] triples, row-major.
private func pixels(of image: Tensor) -> [[Float]] {
    let plane = image.shape[2] * image.shape[3]
    let s = image.scalars
    return (0..<plane).map { [s[$0], s[plane + $0], s[2 * plane + $0]] }
}

private func squaredDistance(_ a: [Float], _ b: [Float]) -> Float {
    let (d0, d1, d2) = (a[0] - b[0], a[1] - b[1], a[2] - b[2])
    return d0 * d0 + d1 * d1 + d2 * d2
}

private func closest(_ p: [Float], in centers: [[Float]]) -> Int {
    var best = 0
    var bestDistance = Float.infinity
    for (j, c) in centers.enumerated() {
        let d = squaredDistance(p, c)
        if d < bestDistance { best = j; bestDistance = d }
    }
    return best
}
