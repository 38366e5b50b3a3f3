/// Batch normalisation and the channel L2 norm of the gradient penalty.

/// Batch normalisation of an [N, C, H, W] tensor per channel, over (N, H, W).
///
/// Training mode normalises with the batch statistics (biased variance) and updates
/// `runningMean` / `runningVar` in place, PyTorch's way: `r = (1 - momentum) r + momentum s`,
/// with the unbiased variance. Inference mode normalises with the running statistics.
///
/// Training mode runs a fused kernel forward and, for first-order gradients, a fused backward.
/// When the backward pass is itself recorded (`createGraph`), the same gradient formula is built
/// from differentiable ops, so the gradients can be differentiated again.
public func batchNorm(_ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                      training: Bool, momentum: Float = 0.1, eps: Float = 1e-5) -> Tensor {
    normalize(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
              training: training, momentum: momentum, eps: eps, slope: nil)
}

/// `leakyReLU(batchNorm(x, ...), slope:)` in one kernel: the activation is applied while the
/// normalised values are written, and its mask while the gradients are summed, so neither the
/// normalised tensor nor the masked gradient is materialised.
public func batchNormLeakyReLU(_ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                               training: Bool, slope: Float = 0.2, momentum: Float = 0.1, eps: Float = 1e-5) -> Tensor {
    normalize(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
              training: training, momentum: momentum, eps: eps, slope: slope)
}

/// Batch normalisation, followed by LeakyReLU(slope) when `slope` is given.
private func normalize(_ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                       training: Bool, momentum: Float, eps: Float, slope: Float?) -> Tensor {
    shapeCheck(x.rank == 4, "batchNorm", "input must be [N, C, H, W], got shape \(x.shape)")
    let c = x.shape[1]
    for (name, t) in [("gamma", gamma), ("beta", beta), ("runningMean", runningMean), ("runningVar", runningVar)] {
        shapeCheck(t.shape == [c], "batchNorm", "\(name) has shape \(t.shape), expected [\(c)]")
    }
    if let slope { shapeCheck(slope > 0, "batchNormLeakyReLU", "slope must be positive, got \(slope)") }
    if !training {
        let scale = gamma / sqrt(runningVar.detached() + eps)
        let y = channelAffine(x, scale: scale, shift: beta - runningMean.detached() * scale)
        return slope.map { leakyReLU(y, slope: $0) } ?? y
    }
    let (n, plane) = (x.shape[0], x.shape[2] * x.shape[3])
    let count = n * plane
    shapeCheck(count > 1, "batchNorm", "training mode needs more than one value per channel, got shape \(x.shape)")

    // Statistics: per channel, mean then the sum of squared deviations (two passes, stable).
    var batchMean = [Float](repeating: 0, count: c), batchVar = [Float](repeating: 0, count: c)
    x.scalars.withUnsafeBufferPointer { px in
        batchMean.withUnsafeMutableBufferPointer { means in
            batchVar.withUnsafeMutableBufferPointer { variances in
                let xs = px.baseAddress!
                ComputeThreads.forEachItem(c, valuesPerItem: count) { ch in
                    var s: Float = 0
                    for b in 0..<n { s += Vector.sum(xs + (b * c + ch) * plane, plane) }
                    let m = s / Float(count)
                    var ss: Float = 0
                    for b in 0..<n { ss += Vector.sumSquaredDeviations(xs + (b * c + ch) * plane, plane, mean: m) }
                    means[ch] = m
                    variances[ch] = ss / Float(count)
                }
            }
        }
    }
    let invStd = batchVar.map { 1 / ($0 + eps).squareRoot() }
    let y = applyChannelAffine(x, scale: (0..<c).map { gamma.scalars[$0] * invStd[$0] },
                               shift: (0..<c).map { beta.scalars[$0] - batchMean[$0] * gamma.scalars[$0] * invStd[$0] },
                               slope: slope)
    updateRunningStatistics(runningMean: runningMean, runningVar: runningVar, batchMean: batchMean,
                            batchVar: batchVar, count: count, momentum: momentum)

    return record(slope == nil ? "batchNorm" : "batchNormLeakyReLU", shape: x.shape, scalars: y,
                  inputs: [x, gamma, beta]) { g, output, needs in
        let activation = slope.map { (output: output, slope: $0) }
        if GradMode.isEnabled {
            // The backward pass is being recorded (second order). A gradient penalty needs only
            // gx: one fused op with a fused backward of its own. Otherwise: from primitives.
            if !needs[1] && !needs[2] {
                return [batchNormInputGradient(g, x, gamma: gamma, mean: batchMean, invStd: invStd, eps: eps,
                                               activation: activation), nil, nil]
            }
            return batchNormBackwardRecorded(g, x, gamma: gamma, eps: eps, activation: activation, needs: needs)
        }
        return batchNormBackward(g, x, gamma: gamma, mean: batchMean, invStd: invStd,
                                 activation: activation, needs: needs)
    }
}

/// Training-mode batch normalisation from differentiable primitives (no running statistics).
/// It defines the fused kernel's derivatives of every order; tests compare the two.
public func batchNormComposite(_ x: Tensor, gamma: Tensor, beta: Tensor, eps: Float = 1e-5) -> Tensor {
    let channel = [1, x.shape[1], 1, 1]
    let centred = x - mean(x, axes: [0, 2, 3], keepDims: true)
    let variance = mean(square(centred), axes: [0, 2, 3], keepDims: true)
    return centred * (reshape(gamma, channel) / sqrt(variance + eps)) + reshape(beta, channel)
}

/// The gradients of `batchNormBackward`, written in differentiable ops so that they can be
/// differentiated again: the statistics are recomputed from x as graph tensors, and the
/// activation's mask (constant almost everywhere) comes from its output.
func batchNormBackwardRecorded(_ g: Tensor, _ x: Tensor, gamma: Tensor, eps: Float,
                               activation: (output: Tensor, slope: Float)?, needs: [Bool]) -> [Tensor?] {
    let c = x.shape[1], axes = [0, 2, 3]
    let count = Float(x.count / c)
    let gm = activation.map { leakyReLUBackward(g, $0.output, slope: $0.slope) } ?? g
    let centred = x - mean(x, axes: axes, keepDims: true)
    let invStd = 1 / sqrt(mean(square(centred), axes: axes, keepDims: true) + eps)
    let xhat = centred * invStd
    let sumG = sum(gm, axes: axes, keepDims: true)
    let sumGXhat = sum(gm * xhat, axes: axes, keepDims: true)
    let gx = needs[0]
        ? (reshape(gamma, [1, c, 1, 1]) * invStd / count) * (gm * count - sumG - xhat * sumGXhat) : nil
    return [gx, needs[1] ? reshape(sumGXhat, [c]) : nil, needs[2] ? reshape(sumG, [c]) : nil]
}

/// First-order gradients of training-mode batch normalisation, fused:
/// with x̂ = (x - μ)/σ, M values per channel, Σg and Σg·x̂ per channel:
/// gx = γ/σ · (g - Σg/M - x̂ · Σg·x̂/M), gγ = Σg·x̂, gβ = Σg.
/// With `activation` (the LeakyReLU output z and its slope), g is first multiplied by the
/// activation's mask (1 where z > 0, else slope), element by element as it is read.
private func batchNormBackward(_ g: Tensor, _ x: Tensor, gamma: Tensor, mean: [Float], invStd: [Float],
                               activation: (output: Tensor, slope: Float)?, needs: [Bool]) -> [Tensor?] {
    let c = x.shape[1]
    let sums = maskedChannelSums(g, x, mean: mean, invStd: invStd, activation: activation)
    let gx = needs[0] ? batchNormInputGradientValues(g, x, gamma: gamma, mean: mean, invStd: invStd, sums: sums,
                                                     activation: activation) : nil
    return [gx.map { Tensor(shape: x.shape, scalars: $0) },
            needs[1] ? Tensor(shape: [c], scalars: sums.gXhat) : nil,
            needs[2] ? Tensor(shape: [c], scalars: sums.g) : nil]
}

/// Σg' and Σg'·x̂ per channel, g' the gradient times the activation's mask (g itself without one).
func maskedChannelSums(_ g: Tensor, _ x: Tensor, mean: [Float], invStd: [Float],
                       activation: (output: Tensor, slope: Float)?) -> (g: [Float], gXhat: [Float]) {
    let (n, c, plane) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
    let slope = activation?.slope ?? 1
    // Without an activation the mask source is x itself and the slope 1: the mask is all ones.
    let maskSource = activation?.output ?? x
    let sums = g.scalars.withUnsafeBufferPointer { pg in
        x.scalars.withUnsafeBufferPointer { px in
            maskSource.scalars.withUnsafeBufferPointer { pz in
                channelSums(n: n, c: c, plane: plane) { ch, offset in
                    let (a, bx) = Vector.maskedSums(pg.baseAddress! + offset, mask: pz.baseAddress! + offset,
                                                    slope: slope, px.baseAddress! + offset, plane, mean: mean[ch])
                    return SIMD2(a, bx)
                }
            }
        }
    }
    return (sums.map(\.x), (0..<c).map { sums[$0].y * invStd[$0] })
}

/// Per-channel sums over (N, H, W) of [N, C, H, W] values, several at once: `plane(ch, offset)`
/// sums the plane of channel ch that starts at flat index `offset`, and a channel's planes are
/// added in image order, on the workers when the values are many.
func channelSums<S: SIMD>(n: Int, c: Int, plane: Int, _ sums: (_ ch: Int, _ offset: Int) -> S) -> [S]
    where S.Scalar == Float {
    var result = [S](repeating: .zero, count: c)
    result.withUnsafeMutableBufferPointer { out in
        ComputeThreads.forEachItem(c, valuesPerItem: n * plane) { ch in
            var total = S.zero
            for b in 0..<n { total += sums(ch, (b * c + ch) * plane) }
            out[ch] = total
        }
    }
    return result
}

/// gx = γ/σ · (g' - Σg'/M - x̂ · Σg'·x̂/M) as raw values, from `maskedChannelSums`' sums.
func batchNormInputGradientValues(_ g: Tensor, _ x: Tensor, gamma: Tensor, mean: [Float], invStd: [Float],
                                  sums: (g: [Float], gXhat: [Float]),
                                  activation: (output: Tensor, slope: Float)?) -> [Float] {
    let (n, c, plane) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
    let count = Float(n * plane)
    let slope = activation?.slope ?? 1
    let maskSource = activation?.output ?? x
    // gx = k1·g' + k2·x + k3 per channel, g' the masked gradient.
    var k1 = [Float](repeating: 0, count: c), k2 = k1, k3 = k1
    for ch in 0..<c {
        let gi = gamma.scalars[ch] * invStd[ch]
        k1[ch] = gi
        k2[ch] = -gi * invStd[ch] * sums.gXhat[ch] / count
        k3[ch] = -gi * sums.g[ch] / count - k2[ch] * mean[ch]
    }
    return makeScalars(count: x.count) { out in
        g.scalars.withUnsafeBufferPointer { pg in
            x.scalars.withUnsafeBufferPointer { px in
                maskSource.scalars.withUnsafeBufferPointer { pz in
                    ComputeThreads.forEachItem(n * c, valuesPerItem: plane) { item in
                        let ch = item % c, offset = item * plane
                        let gs = pg.baseAddress! + offset, xs = px.baseAddress! + offset
                        let zs = pz.baseAddress! + offset, o = out + offset
                        let (a1, a2, a3) = (k1[ch], k2[ch], k3[ch])
                        if activation == nil {
                            for i in 0..<plane { o[i] = a1 * gs[i] + a2 * xs[i] + a3 }
                        } else {
                            for i in 0..<plane {
                                let gm = zs[i] > 0 ? gs[i] : gs[i] * slope
                                o[i] = a1 * gm + a2 * xs[i] + a3
                            }
                        }
                    }
                }
            }
        }
    }
}

/// y = x · scale[c] + shift[c] on an [N, C, H, W] tensor (raw values), then LeakyReLU(slope)
/// if a slope is given.
private func applyChannelAffine(_ x: Tensor, scale: [Float], shift: [Float], slope: Float? = nil) -> [Float] {
    let (n, c, plane) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
    return makeScalars(count: x.count) { out in
        x.scalars.withUnsafeBufferPointer { px in
            ComputeThreads.forEachItem(n * c, valuesPerItem: plane) { item in
                let ch = item % c, offset = item * plane
                let xs = px.baseAddress! + offset, o = out + offset
                let (a, s) = (scale[ch], shift[ch])
                if let slope {
                    for i in 0..<plane { let v = xs[i] * a + s; o[i] = v > 0 ? v : v * slope }
                } else {
                    for i in 0..<plane { o[i] = xs[i] * a + s }
                }
            }
        }
    }
}

/// y = x · scale[c] + shift[c] on an [N, C, H, W] tensor, with [C] scale and shift: one pass
/// instead of a broadcast multiply and a broadcast add.
public func channelAffine(_ x: Tensor, scale: Tensor, shift: Tensor) -> Tensor {
    let c = x.shape[1]
    shapeCheck(x.rank == 4 && scale.shape == [c] && shift.shape == [c], "channelAffine",
               "input \(x.shape) needs [\(c)] scale and shift, got \(scale.shape) and \(shift.shape)")
    let y = applyChannelAffine(x, scale: scale.scalars, shift: shift.scalars)
    return record("channelAffine", shape: x.shape, scalars: y, inputs: [x, scale, shift]) { g, _, needs in
        [needs[0] ? g * reshape(scale, [1, c, 1, 1]) : nil,
         needs[1] ? sum(g * x, axes: [0, 2, 3]) : nil,
         needs[2] ? sum(g, axes: [0, 2, 3]) : nil]
    }
}

/// r = (1 - momentum) r + momentum s, with the batch variance made unbiased (n / (n - 1)).
func updateRunningStatistics(runningMean: Tensor, runningVar: Tensor, batchMean: [Float], batchVar: [Float],
                             count: Int, momentum: Float) {
    let unbias = Float(count) / Float(count - 1)
    for i in 0..<runningMean.count {
        runningMean.scalars[i] = (1 - momentum) * runningMean.scalars[i] + momentum * batchMean[i]
        runningVar.scalars[i] = (1 - momentum) * runningVar.scalars[i] + momentum * batchVar[i] * unbias
    }
}

/// The L2 norm over the channel axis of an [N, C, H, W] tensor: [N, H, W] (or [N, 1, H, W]
/// with `keepDims`). At a zero vector the value is 0 and the gradient is taken as 0 (the
/// subgradient PyTorch uses), so the penalty stays finite.
public func channelNorm(_ x: Tensor, keepDims: Bool = false) -> Tensor {
    shapeCheck(x.rank == 4, "channelNorm", "input must be [N, C, H, W], got shape \(x.shape)")
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let plane = h * w
    let scalars = makeScalars(count: n * plane) { out in
        x.scalars.withUnsafeBufferPointer { px in
            for b in 0..<n {
                let o = out + b * plane
                ComputeThreads.forEachPiece(plane, grain: 1 << 12) { piece in
                    for i in piece { o[i] = 0 }
                    for ch in 0..<c {
                        let s = px.baseAddress! + (b * c + ch) * plane
                        for i in piece { o[i] += s[i] * s[i] }
                    }
                    for i in piece { o[i] = o[i].squareRoot() }
                }
            }
        }
    }
    let shape = keepDims ? [n, 1, h, w] : [n, h, w]
    return record("channelNorm", shape: shape, scalars: scalars, inputs: [x]) { g, y, _ in
        [x * reshape(divNoNan(g, y), [n, 1, h, w])]
    }
}
