/// Binary element-wise ops with NumPy broadcasting (in practice: equal shapes, a per-channel
/// [1, C, 1, 1] tensor, or a one-element tensor), and their scalar forms.

enum BinaryOp: String {
    case add, sub, mul, div, divNoNan
}

/// The raw values of `a op b` broadcast to `shape`.
private func binaryScalars(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, shape: [Int]) -> [Float] {
    let count = shape.reduce(1, *)
    let sa = Strided.broadcastStrides(a.shape, to: shape)
    let sb = Strided.broadcastStrides(b.shape, to: shape)
    let so = Strided.contiguousStrides(shape)
    return makeScalars(count: count) { out in
        a.scalars.withUnsafeBufferPointer { pa in
            b.scalars.withUnsafeBufferPointer { pb in
                Strided.forEachRowInParallel(shape, [so, sa, sb]) { off, inner, n in
                    let o = out + off[0], x = pa.baseAddress! + off[1], y = pb.baseAddress! + off[2]
                    let (sa, sb) = (inner[1], inner[2])
                    switch op {
                    case .add: Vector.binary(x, sa, y, sb, o, n) { $0 + $1 }
                    case .sub: Vector.binary(x, sa, y, sb, o, n) { $0 - $1 }
                    case .mul: Vector.binary(x, sa, y, sb, o, n) { $0 * $1 }
                    case .div: Vector.binary(x, sa, y, sb, o, n) { $0 / $1 }
                    case .divNoNan:
                        Vector.binary(x, sa, y, sb, o, n) { ($0 / $1).replacing(with: 0, where: $1 .== 0) }
                    }
                }
            }
        }
    }
}

private func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) -> Tensor {
    guard let shape = Strided.broadcastShape(a.shape, b.shape) else {
        preconditionFailure("\(op.rawValue): shapes \(a.shape) and \(b.shape) do not broadcast")
    }
    let scalars = binaryScalars(op, a, b, shape: shape)
    return record(op.rawValue, shape: shape, scalars: scalars, inputs: [a, b]) { g, _, needs in
        switch op {
        case .add:
            return [needs[0] ? sumTo(g, a.shape) : nil, needs[1] ? sumTo(g, b.shape) : nil]
        case .sub:
            return [needs[0] ? sumTo(g, a.shape) : nil, needs[1] ? sumTo(-g, b.shape) : nil]
        case .mul:
            return [needs[0] ? sumTo(g * b, a.shape) : nil, needs[1] ? sumTo(g * a, b.shape) : nil]
        case .div:
            return [needs[0] ? sumTo(g / b, a.shape) : nil,
                    needs[1] ? sumTo(-(g * a) / (b * b), b.shape) : nil]
        case .divNoNan:
            return [needs[0] ? sumTo(divNoNan(g, b), a.shape) : nil,
                    needs[1] ? sumTo(-divNoNan(g * a, b * b), b.shape) : nil]
        }
    }
}

/// Element-wise sum with broadcasting.
public func + (a: Tensor, b: Tensor) -> Tensor { binary(.add, a, b) }
/// Element-wise difference with broadcasting.
public func - (a: Tensor, b: Tensor) -> Tensor { binary(.sub, a, b) }
/// Element-wise product with broadcasting.
public func * (a: Tensor, b: Tensor) -> Tensor { binary(.mul, a, b) }
/// Element-wise quotient with broadcasting.
public func / (a: Tensor, b: Tensor) -> Tensor { binary(.div, a, b) }
/// `a / b`, but 0 where `b` is 0 (gradients included): guards norms at zero.
public func divNoNan(_ a: Tensor, _ b: Tensor) -> Tensor { binary(.divNoNan, a, b) }

// MARK: Scalar forms

/// `x * scale + shift`, the one scalar op every scalar form maps to.
private func affine(_ x: Tensor, scale: Float, shift: Float) -> Tensor {
    let scalars = makeScalars(count: x.count) { out in
        x.scalars.withUnsafeBufferPointer { p in
            let s = p.baseAddress!
            ComputeThreads.forEachPiece(p.count) { piece in
                for i in piece { out[i] = s[i] * scale + shift }
            }
        }
    }
    return record("affine", shape: x.shape, scalars: scalars, inputs: [x]) { g, _, _ in
        [scale == 1 ? g : g * scale]
    }
}

public func + (a: Tensor, b: Float) -> Tensor { affine(a, scale: 1, shift: b) }
public func + (a: Float, b: Tensor) -> Tensor { affine(b, scale: 1, shift: a) }
public func - (a: Tensor, b: Float) -> Tensor { affine(a, scale: 1, shift: -b) }
public func - (a: Float, b: Tensor) -> Tensor { affine(b, scale: -1, shift: a) }
public func * (a: Tensor, b: Float) -> Tensor { affine(a, scale: b, shift: 0) }
public func * (a: Float, b: Tensor) -> Tensor { affine(b, scale: a, shift: 0) }
public func / (a: Tensor, b: Float) -> Tensor { affine(a, scale: 1 / b, shift: 0) }
public func / (a: Float, b: Tensor) -> Tensor { Tensor.full([], value: a) / b }
/// Negation.
public prefix func - (x: Tensor) -> Tensor { affine(x, scale: -1, shift: 0) }
