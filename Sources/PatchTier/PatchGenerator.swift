/// Training-free generation from one image's own patches, GPNN-style (Granot, Feinstein,
/// Shocher, Bagon, Irani, "Drop the GAN", CVPR 2022).
///
/// Coarse to fine over `PatchPyramid`: the first generated level starts from the real image
/// resized to the output plus grey noise (less the finer that level: `PatchSettings.startNoise`); each later level starts from the level before,
/// upsampled. At every level, `passes` times: each 7 x 7 patch of the current image is replaced
/// by its nearest real patch of that level, under GPNN's normalisation (a real patch's
/// distances are divided by its distance to the nearest current patch plus alpha, which pulls
/// in patches the output lacks and keeps overused ones from repeating), and the overlapping
/// patches are averaged back (`PatchFold`). A level's first pass compares against the real
/// image one level down, upsampled, which is as blurred as the upsampled output it matches.
///
/// Per pass: one search from the real patches to the current ones (their nearest distances, for
/// the normalisation), one from the current patches to the real ones, and a fold. Searches
/// start from the previous pass's fields, or the coarser level's, scaled.
public struct PatchGenerator: Sendable {
    public let settings: PatchSettings
    /// The source image's pyramid.
    public let pyramid: PatchPyramid
    /// The real image at each level: the values every pass copies.
    let reals: [PatchImage]
    /// For each level after the first, the level below upsampled to this level's size: the
    /// keys of the level's first pass.
    let upsampled: [PatchImage?]

    /// Prepares the pyramid of `image`. Throws for invalid settings or an image smaller than a patch.
    public init(image: PatchImage, settings: PatchSettings = PatchSettings()) throws(PatchTierError) {
        try settings.validate()
        guard image.width >= PatchDistance.side && image.height >= PatchDistance.side else {
            throw .imageTooSmall(role: "image", width: image.width, height: image.height)
        }
        self.settings = settings
        pyramid = PatchPyramid(width: image.width, height: image.height, settings: settings)
        var reals: [PatchImage] = []
        var upsampled: [PatchImage?] = []
        for level in 0..<pyramid.count {
            let size = pyramid.size(level, width: image.width, height: image.height)
            // Each level from the full image, not the level above, so blur does not pile up.
            let real = level == pyramid.count - 1 ? image : try image.resized(width: size.width, height: size.height)
            if let below = reals.last {
                upsampled.append(try below.resized(width: size.width, height: size.height))
            } else {
                upsampled.append(nil)
            }
            reals.append(real)
        }
        self.reals = reals
        self.upsampled = upsampled
    }

    /// The size of the image the generator was made from.
    public var width: Int { reals[reals.count - 1].width }
    public var height: Int { reals[reals.count - 1].height }

    /// Checks that an output of `width` x `height` can be generated.
    public func check(width: Int, height: Int) throws(PatchTierError) {
        guard width >= PatchDistance.side && height >= PatchDistance.side else {
            throw .outputTooSmall(width: width, height: height)
        }
        guard width <= settings.maxSide && height <= settings.maxSide else {
            throw .outputTooLarge(width: width, height: height, limit: settings.maxSide)
        }
        guard settings.structure < pyramid.count else {
            throw .invalidSetting(name: "structure", reason: "\(settings.structure) is out of range: this image has "
                                  + "\(pyramid.count) pyramid levels, so it must be in 0...\(pyramid.count - 1)")
        }
    }

    /// A new image of `width` x `height` made of the source's patches. The same seed, settings
    /// and size give the same pixels (any thread count). `progress(fraction)` is called after
    /// every pass; returning false stops the run with `PatchTierError.cancelled`.
    public func generate(width: Int, height: Int, seed: UInt64,
                         progress: (Double) -> Bool = { _ in true }) throws(PatchTierError) -> PatchImage {
        try check(width: width, height: height)
        let start = settings.structure
        let sizes = (0..<pyramid.count).map { pyramid.size($0, width: width, height: height) }
        let totalWork = (start..<pyramid.count).reduce(0.0) { total, level in
            total + Double(sizes[level].width * sizes[level].height * passes(level))
        }
        var done = 0.0

        let first = sizes[start]
        var output = try reals[start].resized(width: first.width, height: first.height)
        addNoise(to: &output, seed: seed)
        var forward: PatchField?   // current patches -> real patches
        var backward: PatchField?  // real patches -> current patches
        for level in start..<pyramid.count {
            let values = reals[level]
            var keys = values
            if level > start {
                output = try output.resized(width: sizes[level].width, height: sizes[level].height)
                keys = upsampled[level]!
                forward = forward?.resampled(to: output, keys: keys)
                backward = backward?.resampled(to: keys, keys: output)
            }
            for pass in 0..<passes(level) {
                var passRandom = PatchRandom(seed: seed, level, pass)
                let passSeed = passRandom.next()
                var toCurrent = backward ?? PatchField(randomFrom: keys, to: output, seed: passSeed ^ 1)
                search(&toCurrent, queries: keys, keys: output, weights: nil, seed: passSeed ^ 2)
                let weights = normalisation(toCurrent)
                var toReal = forward ?? PatchField(randomFrom: output, to: keys, seed: passSeed ^ 3)
                search(&toReal, queries: output, keys: keys, weights: weights, seed: passSeed ^ 4)
                output = PatchFold.fold(toReal, values: values, width: output.width, height: output.height,
                                        threads: settings.threads)
                forward = toReal
                backward = toCurrent
                keys = values
                done += Double(output.width * output.height)
                guard progress(done / totalWork) else { throw .cancelled }
            }
        }
        return output
    }

    /// Passes at `level`: `firstPasses` at the first generated one.
    private func passes(_ level: Int) -> Int {
        level == settings.structure ? settings.firstPasses : settings.passes
    }

    /// GPNN's weights: 1 / (mean squared difference to the nearest current patch + alpha), as
    /// Elnekave's GPNN computes them (the implementation measured in FAST.md): squared
    /// differences averaged over the patch's 147 values, on pixels in [-1, 1] (4 / 147 times our
    /// sum over [0, 1] values).
    private func normalisation(_ nearest: PatchField) -> [Float] {
        let perValue: Float = 4 / Float(PatchDistance.side * PatchDistance.side * 3)
        return nearest.costs.map { 1 / ($0 * perValue + settings.alpha) }
    }

    private func search(_ field: inout PatchField, queries: PatchImage, keys: PatchImage, weights: [Float]?,
                        seed: UInt64) {
        switch settings.search {
        case .patchMatch(let iterations):
            PatchMatch.search(&field, queries: queries, keys: keys, weights: weights, iterations: iterations,
                              seed: seed, threads: settings.threads)
        case .exact:
            ExactSearch.search(&field, queries: queries, keys: keys, weights: weights, threads: settings.threads)
        }
    }

    /// Grey noise (the same value on red, green and blue) of `settings.startNoise` standard deviation.
    private func addNoise(to image: inout PatchImage, seed: UInt64) {
        let std = settings.startNoise
        guard std > 0 else { return }
        var random = PatchRandom(seed: seed, -1)
        for p in 0..<image.width * image.height {
            let n = Float(random.gaussian() * std)
            for c in 0..<3 { image.pixels[p * PatchImage.channels + c] += n }
        }
    }
}
