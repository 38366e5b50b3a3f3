/// The engine's random numbers: SplitMix64 (Steele, Lea, Flood 2014), small and fast, and
/// seeded per piece of work so that every band of every pass draws the same numbers whichever
/// thread runs it.
struct PatchRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// A generator for one piece of work, mixed from a run's seed and the piece's coordinates.
    init(seed: UInt64, _ parts: Int...) {
        var s = seed
        for p in parts {
            var mix = PatchRandom(seed: s ^ UInt64(truncatingIfNeeded: p) &* 0x9E37_79B9_7F4A_7C15)
            s = mix.next()
        }
        state = s
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<count` (count below 2^31).
    @inline(__always)
    mutating func below(_ count: Int) -> Int {
        // Parenthesised: Swift's shifts bind tighter than multiplication.
        Int(((next() >> 32) &* UInt64(count)) >> 32)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// Standard normal, by Box-Muller.
    mutating func gaussian() -> Double {
        let u = 1 - unit()
        let v = unit()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
