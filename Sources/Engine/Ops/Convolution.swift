/// The 3x3, stride-1, unpadded convolution and the two ops its gradients are made of. Each of
/// the three differentiates into the others (docs/ENGINE.md), so convolutions support gradients
/// of any order. The raw work is done by `Conv3x3` (Winograd F(2x2, 3x3) or F(4x4, 3x3) kernels).

/// y = conv(x, weight) + bias. x: [N, Ci, H, W], weight: [Co, Ci, 3, 3], bias: [Co];
/// y: [N, Co, H-2, W-2].
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
    shapeCheck(x.rank == 4, "conv2d", "input must be [N, C, H, W], got shape \(x.shape)")
    shapeCheck(weight.rank == 4 && weight.shape[2] == 3 && weight.shape[3] == 3 && weight.shape[1] == x.shape[1],
               "conv2d", "weight shape \(weight.shape) does not fit input shape \(x.shape) (expected [Co, \(x.shape[1]), 3, 3])")
    shapeCheck(x.shape[2] >= 3 && x.shape[3] >= 3, "conv2d", "input \(x.shape) is smaller than the 3x3 kernel")
    let (n, ci, h, w, co) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], weight.shape[0])
    if let bias {
        shapeCheck(bias.shape == [co], "conv2d", "bias shape \(bias.shape) should be [\(co)]")
    }
    let shape = [n, co, h - 2, w - 2]
    let scalars = makeScalars(count: shape.reduce(1, *)) { y in
        x.scalars.withUnsafeBufferPointer { px in
            weight.scalars.withUnsafeBufferPointer { pw in
                if let bias {
                    bias.scalars.withUnsafeBufferPointer { pb in
                        Conv3x3.forward(x: px.baseAddress!, n: n, ci: ci, h: h, w: w, weight: pw.baseAddress!,
                                        co: co, bias: pb.baseAddress!, y: y)
                    }
                } else {
                    Conv3x3.forward(x: px.baseAddress!, n: n, ci: ci, h: h, w: w, weight: pw.baseAddress!,
                                    co: co, bias: nil, y: y)
                }
            }
        }
    }
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return record("conv2d", shape: shape, scalars: scalars, inputs: inputs) { g, _, needs in
        var grads: [Tensor?] = [
            needs[0] ? convInputGrad(g, weight: weight) : nil,
            needs[1] ? convWeightGrad(x, g) : nil,
        ]
        if inputs.count == 3 { grads.append(needs[2] ? sum(g, axes: [0, 2, 3]) : nil) }
        return grads
    }
}

/// The gradient of `conv2d` with respect to its input: the full convolution of gy with the
/// rotated weight. gy: [N, Co, Ho, Wo], weight: [Co, Ci, 3, 3]; result: [N, Ci, Ho+2, Wo+2].
public func convInputGrad(_ gy: Tensor, weight: Tensor) -> Tensor {
    shapeCheck(gy.rank == 4 && weight.rank == 4 && weight.shape[0] == gy.shape[1], "convInputGrad",
               "gradient shape \(gy.shape) does not fit weight shape \(weight.shape)")
    let (n, co, ho, wo, ci) = (gy.shape[0], gy.shape[1], gy.shape[2], gy.shape[3], weight.shape[1])
    let shape = [n, ci, ho + 2, wo + 2]
    let scalars = makeScalars(count: shape.reduce(1, *)) { gx in
        gy.scalars.withUnsafeBufferPointer { pg in
            weight.scalars.withUnsafeBufferPointer { pw in
                Conv3x3.inputGradient(gy: pg.baseAddress!, n: n, co: co, ho: ho, wo: wo,
                                      weight: pw.baseAddress!, ci: ci, gx: gx)
            }
        }
    }
    return record("convInputGrad", shape: shape, scalars: scalars, inputs: [gy, weight]) { ggx, _, needs in
        [needs[0] ? conv2d(ggx, weight: weight) : nil,
         needs[1] ? convWeightGrad(ggx, gy) : nil]
    }
}

/// The gradient of `conv2d` with respect to its weight: the correlation of x with gy summed over
/// the batch. x: [N, Ci, H, W], gy: [N, Co, H-2, W-2]; result: [Co, Ci, 3, 3].
public func convWeightGrad(_ x: Tensor, _ gy: Tensor) -> Tensor {
    shapeCheck(x.rank == 4 && gy.rank == 4 && x.shape[0] == gy.shape[0]
               && gy.shape[2] == x.shape[2] - 2 && gy.shape[3] == x.shape[3] - 2, "convWeightGrad",
               "input shape \(x.shape) does not fit gradient shape \(gy.shape)")
    let (n, ci, h, w, co) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], gy.shape[1])
    let shape = [co, ci, 3, 3]
    let scalars = makeScalars(count: shape.reduce(1, *)) { gw in
        x.scalars.withUnsafeBufferPointer { px in
            gy.scalars.withUnsafeBufferPointer { pg in
                Conv3x3.weightGradient(x: px.baseAddress!, n: n, ci: ci, h: h, w: w,
                                       gy: pg.baseAddress!, co: co, gw: gw)
            }
        }
    }
    return record("convWeightGrad", shape: shape, scalars: scalars, inputs: [x, gy]) { ggw, _, needs in
        [needs[0] ? convInputGrad(gy, weight: ggw) : nil,
         needs[1] ? conv2d(x, weight: ggw) : nil]
    }
}
