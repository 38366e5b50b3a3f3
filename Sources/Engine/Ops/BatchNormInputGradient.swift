/// The input gradient of training-mode batch normalisation as one recorded op, for gradient
/// penalties: the gradient of a critic with respect to its input, recorded so that it can be
/// differentiated again, passes every BatchNorm layer through this op.
///
/// Built from primitives (`batchNormBackwardRecorded`), that gradient took a dozen full-size
/// passes (centring, x̂, the sums, the products) and its own backward about twice as many: at
/// 128 x 128 and 32 channels, 10-11% of a training step's core time. Fused, it is two passes forward
/// (`maskedChannelSums`, then gx) and two backward (`batchNormInputGradientBackward`).
///
/// With x̂ = (x - μ)/σ over the M values of a channel, g' = g ⊙ mask (the LeakyReLU's mask, a
/// constant) and k = γ/(Mσ):
///   gx = k (M g' - S1 - x̂ S2),   S1 = Σg', S2 = Σg'x̂.
/// For an upstream gradient u of gx, with U1 = Σu, U2 = Σu x̂, V = Σu g' and A = Σu·gx
/// = k (M V - S1 U1 - S2 U2):
///   ∂/∂g' = k (M u - U1 - x̂ U2)                      (the same formula applied to u),
///   ∂/∂x  = (1/σ) [-k S2 u - k U2 g' + k (S2 U1 + U2 S1)/M + x̂ (2k S2 U2 - A)/M],
///   ∂/∂γ  = A/γ = (M V - S1 U1 - S2 U2)/(Mσ).
/// (∂/∂x from dx̂_i = (dx_i - Σdx/M - x̂_i Σx̂dx/M)/σ and dσ = Σx̂dx/M, σ² being the biased
/// variance plus eps.)
///
/// The fused backward gives plain values. When that backward is itself recorded (third order,
/// which training never needs), the op differentiates the composite instead, so gradients of
/// every order stay exact.
func batchNormInputGradient(_ g: Tensor, _ x: Tensor, gamma: Tensor, mean: [Float], invStd: [Float], eps: Float,
                            activation: (output: Tensor, slope: Float)?) -> Tensor {
    let sums = maskedChannelSums(g, x, mean: mean, invStd: invStd, activation: activation)
    let gx = batchNormInputGradientValues(g, x, gamma: gamma, mean: mean, invStd: invStd, sums: sums,
                                          activation: activation)
    return record("batchNormInputGradient", shape: x.shape, scalars: gx, inputs: [g, x, gamma]) { u, _, needs in
        if GradMode.isEnabled {
            let composite = batchNormBackwardRecorded(g, x, gamma: gamma, eps: eps, activation: activation,
                                                      needs: [true, false, false])[0]!
            let grads = gradients(of: composite, with: [g, x, gamma], seed: u, createGraph: true)
            return needs.indices.map { needs[$0] ? grads[$0] : nil }
        }
        return batchNormInputGradientBackward(u, g, x, gamma: gamma, mean: mean, invStd: invStd, sums: sums,
                                              activation: activation, needs: needs)
    }
}

/// ∂/∂g, ∂/∂x and ∂/∂γ of `batchNormInputGradient` for the upstream gradient u, as plain values:
/// one pass for U1, U2 and V per channel, one for ∂/∂g and ∂/∂x.
private func batchNormInputGradientBackward(_ u: Tensor, _ g: Tensor, _ x: Tensor, gamma: Tensor, mean: [Float],
                                            invStd: [Float], sums: (g: [Float], gXhat: [Float]),
                                            activation: (output: Tensor, slope: Float)?,
                                            needs: [Bool]) -> [Tensor?] {
    let (n, c, plane) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
    let m = Float(n * plane)
    let slope = activation?.slope ?? 1
    let maskSource = activation?.output ?? x
    // Per channel: U1 = Σu, Σu(x - μ) (U2 once scaled by 1/σ), V = Σug'.
    let upstream = u.scalars.withUnsafeBufferPointer { pu in
        g.scalars.withUnsafeBufferPointer { pg in
            x.scalars.withUnsafeBufferPointer { px in
                maskSource.scalars.withUnsafeBufferPointer { pz in
                    channelSums(n: n, c: c, plane: plane) { ch, offset in
                        Vector.inputGradientSums(pu.baseAddress! + offset, pg.baseAddress! + offset,
                                                 mask: pz.baseAddress! + offset, slope: slope,
                                                 px.baseAddress! + offset, plane, mean: mean[ch])
                    }
                }
            }
        }
    }
    let u1 = upstream.map(\.x), u2 = (0..<c).map { upstream[$0].y * invStd[$0] }, v = upstream.map(\.z)
    // Per channel: ∂/∂g = mask · (p1 u + p2 x + p3), ∂/∂x = q1 u + q2 g' + q3 x + q4.
    var p1 = [Float](repeating: 0, count: c), p2 = p1, p3 = p1, q1 = p1, q2 = p1, q3 = p1, q4 = p1
    var dGamma = p1
    for ch in 0..<c {
        let s = invStd[ch], mu = mean[ch], (s1, s2) = (sums.g[ch], sums.gXhat[ch])
        let k = gamma.scalars[ch] * s / m
        let inner = m * v[ch] - s1 * u1[ch] - s2 * u2[ch]
        dGamma[ch] = inner * s / m
        let a = k * inner
        p1[ch] = k * m
        p2[ch] = -k * u2[ch] * s
        p3[ch] = -k * u1[ch] - p2[ch] * mu
        q1[ch] = -k * s2 * s
        q2[ch] = -k * u2[ch] * s
        let c3 = (2 * k * s2 * u2[ch] - a) * s / m  // the coefficient of x̂
        q3[ch] = c3 * s
        q4[ch] = k * (s2 * u1[ch] + u2[ch] * s1) * s / m - c3 * s * mu
    }
    // One pass writes whichever of ∂/∂g and ∂/∂x is needed.
    func write(dg: UnsafeMutablePointer<Float>?, dx: UnsafeMutablePointer<Float>?) {
        u.scalars.withUnsafeBufferPointer { pu in
            g.scalars.withUnsafeBufferPointer { pg in
                x.scalars.withUnsafeBufferPointer { px in
                    maskSource.scalars.withUnsafeBufferPointer { pz in
                        ComputeThreads.forEachItem(n * c, valuesPerItem: plane) { item in
                            let ch = item % c, offset = item * plane
                            let us = pu.baseAddress! + offset, gs = pg.baseAddress! + offset
                            let xs = px.baseAddress! + offset, zs = pz.baseAddress! + offset
                            let masked = activation != nil
                            if let o = dg.map({ $0 + offset }) {
                                let (a1, a2, a3) = (p1[ch], p2[ch], p3[ch])
                                for i in 0..<plane {
                                    let d = a1 * us[i] + a2 * xs[i] + a3
                                    o[i] = masked && !(zs[i] > 0) ? d * slope : d
                                }
                            }
                            if let o = dx.map({ $0 + offset }) {
                                let (b1, b2, b3, b4) = (q1[ch], q2[ch], q3[ch], q4[ch])
                                for i in 0..<plane {
                                    let gm = masked && !(zs[i] > 0) ? gs[i] * slope : gs[i]
                                    o[i] = b1 * us[i] + b2 * gm + b3 * xs[i] + b4
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    var dg: [Float]?, dx: [Float]?
    switch (needs[0], needs[1]) {
    case (true, true):
        dg = makeScalars(count: x.count) { dgOut in dx = makeScalars(count: x.count) { write(dg: dgOut, dx: $0) } }
    case (true, false): dg = makeScalars(count: x.count) { write(dg: $0, dx: nil) }
    case (false, true): dx = makeScalars(count: x.count) { write(dg: nil, dx: $0) }
    case (false, false): break
    }
    return [dg.map { Tensor(shape: x.shape, scalars: $0) }, dx.map { Tensor(shape: x.shape, scalars: $0) },
            needs[2] ? Tensor(shape: [c], scalars: dGamma) : nil]
}
