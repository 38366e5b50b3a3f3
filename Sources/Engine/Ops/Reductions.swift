/// Sums, means, and the two shape ops they differentiate into (`expand` and `reshape`).

/// Normalised, sorted, unique axes; nil means all.
private func resolveAxes(_ axes: [Int]?, rank: Int, _ op: String) -> [Int] {
    guard let axes else { return Array(0..<rank) }
    let resolved = axes.map { $0 < 0 ? $0 + rank : $0 }
    shapeCheck(resolved.allSatisfy { (0..<rank).contains($0) }, op, "axes \(axes) out of range for rank \(rank)")
    return Array(Set(resolved)).sorted()
}

/// Raw sum over `axes`, shaped with the reduced dimensions kept as 1.
private func sumScalars(_ x: Tensor, axes: [Int]) -> (shape: [Int], scalars: [Float]) {
    var keptShape = x.shape
    for a in axes { keptShape[a] = 1 }
    let count = keptShape.reduce(1, *)
    var out = [Float](repeating: 0, count: count)
    if x.count == 0 { return (keptShape, out) }
    let sx = Strided.contiguousStrides(x.shape)
    let so = Strided.broadcastStrides(keptShape, to: x.shape)
    out.withUnsafeMutableBufferPointer { po in
        x.scalars.withUnsafeBufferPointer { px in
            let o = po.baseAddress!, s = px.baseAddress!
            let body = { (off: [Int], inner: [Int], n: Int) in
                if inner[1] == 0 {
                    o[off[1]] += Vector.sum(s + off[0], n)
                } else {
                    Vector.accumulate(s + off[0], into: o + off[1], n)
                }
            }
            // Rows (or pieces of one row) may share an output, then they are summed in order on
            // one thread; they are disjoint when every dimension but a summed innermost one moves
            // the output, as for the per-channel sums of one image.
            let outputStrides = Strided.merge(x.shape, [sx, so]).strides[1]
            if outputStrides.dropLast().allSatisfy({ $0 != 0 }) && (outputStrides.count > 1 || outputStrides[0] != 0) {
                Strided.forEachRowInParallel(x.shape, [sx, so], body)
            } else {
                Strided.forEachRow(x.shape, [sx, so], body)
            }
        }
    }
    return (keptShape, out)
}

/// Sum over `axes` (nil: all). Reduced dimensions are removed unless `keepDims`.
public func sum(_ x: Tensor, axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
    let resolved = resolveAxes(axes, rank: x.rank, "sum")
    let (keptShape, scalars) = sumScalars(x, axes: resolved)
    let shape = keepDims ? keptShape : x.shape.indices.filter { !resolved.contains($0) }.map { x.shape[$0] }
    let inputShape = x.shape
    return record("sum", shape: shape, scalars: scalars, inputs: [x]) { g, _, _ in
        [expand(reshape(g, keptShape), to: inputShape)]
    }
}

/// Mean over `axes` (nil: all). Reduced dimensions are removed unless `keepDims`.
public func mean(_ x: Tensor, axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
    let resolved = resolveAxes(axes, rank: x.rank, "mean")
    let n = resolved.reduce(1) { $0 * x.shape[$1] }
    return sum(x, axes: resolved, keepDims: keepDims) * (1 / Float(max(n, 1)))
}

/// The same values with another shape of equal element count.
public func reshape(_ x: Tensor, _ shape: [Int]) -> Tensor {
    if shape == x.shape { return x }
    shapeCheck(shape.reduce(1, *) == x.count, "reshape", "cannot reshape \(x.shape) to \(shape)")
    let inputShape = x.shape
    return record("reshape", shape: shape, scalars: x.scalars, inputs: [x]) { g, _, _ in
        [reshape(g, inputShape)]
    }
}

/// Broadcasts `x` to `shape` (NumPy rules), materialising the copies.
public func expand(_ x: Tensor, to shape: [Int]) -> Tensor {
    if shape == x.shape { return x }
    shapeCheck(Strided.broadcastShape(x.shape, shape) == shape, "expand", "cannot broadcast \(x.shape) to \(shape)")
    let sx = Strided.broadcastStrides(x.shape, to: shape)
    let so = Strided.contiguousStrides(shape)
    let scalars = makeScalars(count: shape.reduce(1, *)) { o in
        x.scalars.withUnsafeBufferPointer { px in
            let s = px.baseAddress!
            Strided.forEachRowInParallel(shape, [so, sx]) { off, inner, n in
                if inner[1] == 0 {
                    (o + off[0]).initialize(repeating: s[off[1]], count: n)
                } else {
                    (o + off[0]).initialize(from: s + off[1], count: n)
                }
            }
        }
    }
    let inputShape = x.shape
    return record("expand", shape: shape, scalars: scalars, inputs: [x]) { g, _, _ in
        [sumTo(g, inputShape)]
    }
}

/// Sums `x` down to `shape`, the adjoint of broadcasting `shape` up to `x.shape`.
public func sumTo(_ x: Tensor, _ shape: [Int]) -> Tensor {
    if x.shape == shape { return x }
    let offset = x.rank - shape.count
    shapeCheck(offset >= 0, "sumTo", "cannot reduce \(x.shape) to the larger rank of \(shape)")
    let axes = (0..<x.rank).filter { i in i < offset || (shape[i - offset] == 1 && x.shape[i] != 1) }
    return reshape(sum(x, axes: axes, keepDims: true), shape)
}
