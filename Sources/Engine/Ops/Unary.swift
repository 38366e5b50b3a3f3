
/// Applies `f` to every element, eight lanes at a time (the closure is inlined into the loop).
@inline(__always)
func mapSIMD(_ x: Tensor, _ f: (SIMD8<Float>) -> SIMD8<Float>) -> [Float] {
    makeScalars(count: x.count) { out in
        x.scalars.withUnsafeBufferPointer { p in
            // The second operand is an unused splat: one SIMD loop serves unary and binary maps.
            ComputeThreads.forEachPiece(p.count) { piece in
                let s = p.baseAddress! + piece.lowerBound
                Vector.binary(s, 1, s, 0, out + piece.lowerBound, piece.count) { v, _ in f(v) }
            }
        }
    }
}

/// Applies `f` to every element, one at a time (for functions without a SIMD form). A libm call
/// costs 10-20 ns, 30-60 adds: pieces of 4096 values go to the workers from 8192 values on (the
/// generator's 3-channel tanh at 53 x 71 took a tenth of a 2-thread step's serial time).
@inline(__always)
func mapScalars(_ x: Tensor, _ f: (Float) -> Float) -> [Float] {
    makeScalars(count: x.count) { out in
        x.scalars.withUnsafeBufferPointer { p in
            let s = p.baseAddress!
            ComputeThreads.forEachPiece(p.count, grain: 1 << 12, minValues: 1 << 13) { piece in
                for i in piece { out[i] = f(s[i]) }
            }
        }
    }
}

/// x².
public func square(_ x: Tensor) -> Tensor {
    record("square", shape: x.shape, scalars: mapSIMD(x) { $0 * $0 }, inputs: [x]) { g, _, _ in
        [g * x * 2]
    }
}

/// √x. Its gradient is infinite at 0; see `divNoNan` or `channelNorm` for a guarded norm.
public func sqrt(_ x: Tensor) -> Tensor {
    record("sqrt", shape: x.shape, scalars: mapSIMD(x) { $0.squareRoot() }, inputs: [x]) { g, y, _ in
        [g / (y * 2)]
    }
}

/// x^p for a constant exponent p.
public func pow(_ x: Tensor, _ p: Float) -> Tensor {
    let scalars: [Float]
    if p == 2 { scalars = mapSIMD(x) { $0 * $0 } } else { scalars = mapScalars(x) { LibM.powf($0, p) } }
    return record("pow", shape: x.shape, scalars: scalars, inputs: [x]) { g, _, _ in
        [p == 2 ? g * x * 2 : g * pow(x, p - 1) * p]
    }
}

/// Hyperbolic tangent.
public func tanh(_ x: Tensor) -> Tensor {
    record("tanh", shape: x.shape, scalars: mapScalars(x) { LibM.tanhf($0) }, inputs: [x]) { g, y, _ in
        [g * (1 - square(y))]
    }
}

/// max(x, 0) + slope * min(x, 0).
public func leakyReLU(_ x: Tensor, slope: Float = 0.2) -> Tensor {
    let scalars = mapSIMD(x) { ($0 * slope).replacing(with: $0, where: $0 .> 0) }
    return record("leakyReLU", shape: x.shape, scalars: scalars, inputs: [x]) { g, _, _ in
        [leakyReLUBackward(g, x, slope: slope)]
    }
}

/// `g * (x > 0 ? 1 : slope)`: the mask is constant in x (almost everywhere), so this op is
/// linear in g and has no gradient with respect to x.
func leakyReLUBackward(_ g: Tensor, _ x: Tensor, slope: Float) -> Tensor {
    shapeCheck(g.shape == x.shape, "leakyReLUBackward", "gradient shape \(g.shape) differs from input shape \(x.shape)")
    let scalars = makeScalars(count: x.count) { out in
        g.scalars.withUnsafeBufferPointer { pg in
            x.scalars.withUnsafeBufferPointer { px in
                let gs = pg.baseAddress!, xs = px.baseAddress!
                ComputeThreads.forEachPiece(px.count) { piece in
                    for i in piece { out[i] = xs[i] > 0 ? gs[i] : gs[i] * slope }
                }
            }
        }
    }
    return record("leakyReLUBackward", shape: x.shape, scalars: scalars, inputs: [g]) { gg, _, _ in
        [leakyReLUBackward(gg, x, slope: slope)]
    }
}
