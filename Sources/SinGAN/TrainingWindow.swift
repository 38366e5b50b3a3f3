import Engine

/// The rectangle of a scale's image that one training iteration works on: the whole image (the
/// paper), or a random square crop (the `fast` preset's finer scales, where the critic only
/// ever judges patches and the generator is fully convolutional, so a crop trains the same
/// weights at a fraction of the cost).
struct TrainingWindow: Equatable {
    let top: Int, left: Int, height: Int, width: Int

    /// The whole image of `size`.
    static func whole(_ size: ImageSize) -> TrainingWindow {
        TrainingWindow(top: 0, left: 0, height: size.height, width: size.width)
    }

    /// A `side` x `side` window (each side clamped to the image) at a uniformly random place in
    /// an image of `size`; the whole image, drawing nothing from `rng`, when it already fits.
    static func random(side: Int, in size: ImageSize, rng: RandomGenerator) -> TrainingWindow {
        let h = min(side, size.height), w = min(side, size.width)
        if h == size.height && w == size.width { return .whole(size) }
        let top = Int(rng.next() % UInt64(size.height - h + 1))
        let left = Int(rng.next() % UInt64(size.width - w + 1))
        return TrainingWindow(top: top, left: left, height: h, width: w)
    }

    /// Whether the window is the whole of an image of `size`.
    func covers(_ size: ImageSize) -> Bool {
        top == 0 && left == 0 && height == size.height && width == size.width
    }

    /// The window's pixels of `image`, an [N, C, H, W] tensor of the scale's size.
    func cut(_ image: Tensor) -> Tensor {
        cutWindow(image, top: top, left: left, height: height, width: width)
    }

    /// The window grown by `networkPadding` on every side, cut from `padded`: a tensor of the
    /// scale's size already padded by `networkPadding` (what the generator reads to produce
    /// the window's pixels; outside the image that margin holds the padding's zeros).
    func cutPadded(_ padded: Tensor) -> Tensor {
        cutWindow(padded, top: top, left: left, height: height + 2 * networkPadding, width: width + 2 * networkPadding)
    }
}

/// The [N, C, height, width] window at (top, left) of an [N, C, H, W] tensor, as a constant
/// (training windows are cut from inputs that need no gradient). The tensor itself when the
/// window is all of it.
private func cutWindow(_ x: Tensor, top: Int, left: Int, height: Int, width: Int) -> Tensor {
    precondition(x.rank == 4 && top >= 0 && left >= 0 && top + height <= x.shape[2] && left + width <= x.shape[3],
                 "cutWindow: \(height)x\(width) at (\(top), \(left)) outside shape \(x.shape)")
    let (planes, h, w) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
    if top == 0 && left == 0 && height == h && width == w { return x }
    var out = [Float](repeating: 0, count: planes * height * width)
    out.withUnsafeMutableBufferPointer { d in
        x.scalars.withUnsafeBufferPointer { s in
            for p in 0..<planes {
                for i in 0..<height {
                    let from = s.baseAddress! + p * h * w + (top + i) * w + left
                    (d.baseAddress! + (p * height + i) * width).update(from: from, count: width)
                }
            }
        }
    }
    return Tensor(shape: [x.shape[0], x.shape[1], height, width], scalars: out)
}
