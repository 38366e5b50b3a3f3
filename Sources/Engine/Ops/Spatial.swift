/// Spatial ops on [N, C, H, W] tensors: zero padding and cropping (each the other's adjoint),
/// and channel repetition.

/// Copies the [h, w] window at (top, left) of every source plane into every destination plane.
private func copyWindows(from src: UnsafePointer<Float>, srcH: Int, srcW: Int, srcTop: Int, srcLeft: Int,
                         to dst: UnsafeMutablePointer<Float>, dstH: Int, dstW: Int, dstTop: Int, dstLeft: Int,
                         planes: Int, h: Int, w: Int) {
    for plane in 0..<planes {
        let s = src + plane * srcH * srcW, d = dst + plane * dstH * dstW
        for i in 0..<h {
            (d + (dstTop + i) * dstW + dstLeft).update(from: s + (srcTop + i) * srcW + srcLeft, count: w)
        }
    }
}

/// Pads the last two dimensions of an [N, C, H, W] tensor with `p` zeros on each side.
public func zeroPad(_ x: Tensor, _ p: Int) -> Tensor {
    shapeCheck(x.rank == 4, "zeroPad", "expected an [N, C, H, W] tensor, got shape \(x.shape)")
    shapeCheck(p >= 0, "zeroPad", "negative padding \(p)")
    if p == 0 { return x }
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let shape = [n, c, h + 2 * p, w + 2 * p]
    var scalars = [Float](repeating: 0, count: shape.reduce(1, *))
    scalars.withUnsafeMutableBufferPointer { d in
        x.scalars.withUnsafeBufferPointer { s in
            copyWindows(from: s.baseAddress!, srcH: h, srcW: w, srcTop: 0, srcLeft: 0,
                        to: d.baseAddress!, dstH: h + 2 * p, dstW: w + 2 * p, dstTop: p, dstLeft: p,
                        planes: n * c, h: h, w: w)
        }
    }
    return record("zeroPad", shape: shape, scalars: scalars, inputs: [x]) { g, _, _ in [crop(g, p)] }
}

/// Removes `p` pixels from each side of the last two dimensions of an [N, C, H, W] tensor.
public func crop(_ x: Tensor, _ p: Int) -> Tensor {
    shapeCheck(x.rank == 4, "crop", "expected an [N, C, H, W] tensor, got shape \(x.shape)")
    shapeCheck(p >= 0 && x.shape[2] > 2 * p && x.shape[3] > 2 * p, "crop",
               "cannot crop \(p) pixels from each side of shape \(x.shape)")
    if p == 0 { return x }
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2] - 2 * p, x.shape[3] - 2 * p)
    let shape = [n, c, h, w]
    let scalars = makeScalars(count: shape.reduce(1, *)) { d in
        x.scalars.withUnsafeBufferPointer { s in
            // Fresh memory: `update` on uninitialised Float memory is fine (trivial type).
            copyWindows(from: s.baseAddress!, srcH: h + 2 * p, srcW: w + 2 * p, srcTop: p, srcLeft: p,
                        to: d, dstH: h, dstW: w, dstTop: 0, dstLeft: 0, planes: n * c, h: h, w: w)
        }
    }
    return record("crop", shape: shape, scalars: scalars, inputs: [x]) { g, _, _ in [zeroPad(g, p)] }
}

/// Repeats a one-channel [N, 1, H, W] tensor `count` times along the channel axis.
public func repeatChannels(_ x: Tensor, count: Int) -> Tensor {
    shapeCheck(x.rank == 4 && x.shape[1] == 1, "repeatChannels", "expected an [N, 1, H, W] tensor, got shape \(x.shape)")
    return expand(x, to: [x.shape[0], count, x.shape[2], x.shape[3]])
}
