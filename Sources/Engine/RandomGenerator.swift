#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A seeded pseudo-random generator: xoshiro256** (Blackman & Vigna), seeded through
/// SplitMix64, with Gaussian values by the Box-Muller transform.
///
/// Reproducibility: the same seed (or the same restored `state`) gives the same bits on every
/// run and with any thread count, because drawing is sequential and single-threaded. Uniform
/// floats take the top 24 bits of one 64-bit draw. Gaussians are made in pairs in Double
/// (u1 in (0, 1], u2 in [0, 1): r = √(-2 ln u1), values r cos 2πu2 and r sin 2πu2); a request
/// for an odd count discards the last value of the last pair, so no hidden spare value escapes
/// `state`. Not thread-safe: use one generator per thread.
public final class RandomGenerator {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    /// A generator whose stream is fixed by `seed`.
    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// The complete internal state (4 words), to save and restore bit-exactly.
    public var state: [UInt64] {
        get { [s.0, s.1, s.2, s.3] }
        set {
            precondition(newValue.count == 4 && newValue.contains { $0 != 0 },
                         "RandomGenerator.state: needs 4 words, not all zero; got \(newValue)")
            s = (newValue[0], newValue[1], newValue[2], newValue[3])
        }
    }

    /// The next 64 random bits.
    @inline(__always)
    public func next() -> UInt64 {
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }

    @inline(__always)
    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A uniform Float in [0, 1).
    public func uniformScalar() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// A tensor of uniform values in [low, high).
    public func uniform(shape: [Int], low: Float = 0, high: Float = 1) -> Tensor {
        let count = shape.reduce(1, *)
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count { values[i] = low + (high - low) * uniformScalar() }
        return Tensor(shape: shape, scalars: values)
    }

    /// A tensor of Gaussian values N(mean, std²).
    public func normal(shape: [Int], mean: Float = 0, std: Float = 1) -> Tensor {
        let count = shape.reduce(1, *)
        var values = [Float](repeating: 0, count: count)
        var i = 0
        while i < count {
            let u1 = Double((next() >> 11) + 1) * 0x1p-53   // (0, 1]: log stays finite
            let u2 = Double(next() >> 11) * 0x1p-53         // [0, 1)
            let r = (-2 * log(u1)).squareRoot()
            let angle = 2 * Double.pi * u2
            values[i] = mean + std * Float(r * cos(angle))
            if i + 1 < count { values[i + 1] = mean + std * Float(r * sin(angle)) }
            i += 2
        }
        return Tensor(shape: shape, scalars: values)
    }
}
