/// Batch normalisation and the channel L2 norm of the gradient penalty.

/// Batch normalisation of an [N, C, H, W] tensor per channel, over (N, H, W).
///
/// Training mode normalises with the batch statistics (biased variance) and updates
/// `runningMean` / `runningVar` in place, PyTorch's way: `r = (1 - momentum) r + momentum s`,
/// with the unbiased variance. Inference mode normalises with the running statistics.
/// Training mode is built from differentiable primitives, so it has gradients of every order.
public func batchNorm(_ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                      training: Bool, momentum: Float = 0.1, eps: Float = 1e-5) -> Tensor {
    shapeCheck(x.rank == 4, "batchNorm", "input must be [N, C, H, W], got shape \(x.shape)")
    let c = x.shape[1]
    for (name, t) in [("gamma", gamma), ("beta", beta), ("runningMean", runningMean), ("runningVar", runningVar)] {
        shapeCheck(t.shape == [c], "batchNorm", "\(name) has shape \(t.shape), expected [\(c)]")
    }
    let channel = [1, c, 1, 1]
    if !training {
        let scale = reshape(gamma, channel) / sqrt(reshape(runningVar.detached(), channel) + eps)
        let shift = reshape(beta, channel) - reshape(runningMean.detached(), channel) * scale
        return x * scale + shift
    }
    let count = x.count / max(c, 1)
    shapeCheck(count > 1, "batchNorm", "training mode needs more than one value per channel, got shape \(x.shape)")
    let batchMean = mean(x, axes: [0, 2, 3], keepDims: true)
    let centred = x - batchMean
    let batchVar = mean(square(centred), axes: [0, 2, 3], keepDims: true)
    let scale = reshape(gamma, channel) / sqrt(batchVar + eps)
    let y = centred * scale + reshape(beta, channel)
    updateRunningStatistics(runningMean: runningMean, runningVar: runningVar,
                            batchMean: batchMean.scalars, batchVar: batchVar.scalars,
                            count: count, momentum: momentum)
    return y
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
                o.initialize(repeating: 0, count: plane)
                for ch in 0..<c {
                    let s = px.baseAddress! + (b * c + ch) * plane
                    for i in 0..<plane { o[i] += s[i] * s[i] }
                }
                for i in 0..<plane { o[i] = o[i].squareRoot() }
            }
        }
    }
    let shape = keepDims ? [n, 1, h, w] : [n, h, w]
    return record("channelNorm", shape: shape, scalars: scalars, inputs: [x]) { g, y, _ in
        [x * reshape(divNoNan(g, y), [n, 1, h, w])]
    }
}
