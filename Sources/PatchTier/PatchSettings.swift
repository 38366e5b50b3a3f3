import Foundation

/// How the patch engine generates: the pyramid, the passes, GPNN's completeness weight, the
/// noise, how much layout to keep, the search and the threads. Defaults are GPNN's published
/// ones (Granot et al. 2022) unless a comment says otherwise.
public struct PatchSettings: Sendable, Equatable {
    /// How neighbours are found.
    public enum Search: Sendable, Equatable {
        /// PatchMatch with this many iterations per search (see `PatchMatch`).
        case patchMatch(iterations: Int)
        /// Brute force (see `ExactSearch`): the reference, for small images.
        case exact
    }

    /// Size ratio between neighbouring pyramid levels (GPNN: 0.75); the engine adjusts it a
    /// little so the coarsest level's shorter side is exactly `coarsestSide`.
    public var pyramidFactor = 0.75
    /// Shorter side of the coarsest level in pixels (GPNN: 14, two patches).
    public var coarsestSide = 14
    /// Patch replacement passes at each level after the first (GPNN: 10).
    public var passes = 10
    /// Passes at the first generated level. One, as in Efficient-GPNN (Elnekave's GPNN):
    /// repeated passes on the noisy 14-pixel image pull it back towards the real image's
    /// layout (see BENCHMARKS.md).
    public var firstPasses = 1
    /// GPNN's alpha: a real patch's distances are divided by (its distance to the nearest
    /// current patch + alpha), so patches the output lacks become cheaper and overused ones
    /// dearer. Smaller favours completeness. Distances here are mean squared differences over a
    /// patch's values in [-1, 1], as in Elnekave's GPNN (alpha 0.005); with plain Euclidean
    /// distances on [0, 1], the same 0.005 pulled samples back to a copy of the image.
    public var alpha: Float = 0.005
    /// Standard deviation of the grey noise added at the coarsest level, in [0, 1] pixel units
    /// (GPNN: 0.75): the source of diversity. A later first level (`structure`) gets less.
    public var noise = 0.75
    /// How many of the coarsest levels keep the real image's layout: generation starts at
    /// level `structure` (0 = the coarsest) from the real image resized to the output, plus
    /// noise of `noise x structureNoiseDecay^structure`, like SinGAN's start scale. Higher keeps
    /// more of the layout.
    public var structure = 0
    /// The noise's factor per level of `structure`. A finer level's patches cannot undo the
    /// coarsest level's noise: with 0.75 at every start level, balloons.png broke its layout
    /// more often the more levels were kept (diversity 0.73 at 0, 0.71 at 1, crowd blocks in
    /// the sky in most samples at 2 and 3). With 0.65 per level the diversity falls as levels
    /// are kept (0.73, 0.53, 0.47, 0.22 at structure 0-3) and so do the broken layouts; 0.5
    /// gave near-copies from structure 2 on (diversity 0.12, 0.005). BENCHMARKS.md, patch tier.
    public static let structureNoiseDecay = 0.65
    /// The noise added at the first generated level.
    public var startNoise: Double { noise * pow(Self.structureNoiseDecay, Double(structure)) }
    /// The neighbour search. Two PatchMatch iterations per search: each pass starts from the
    /// previous pass's field, so the search refines rather than starts over (measured in
    /// BENCHMARKS.md against the exact search).
    public var search = Search.patchMatch(iterations: 2)
    /// Threads for the search and the fold; results do not depend on it.
    public var threads = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// The longest output side accepted.
    public var maxSide = 4096

    public init() {}

    /// Throws the first setting out of its range, by name.
    public func validate() throws(PatchTierError) {
        guard pyramidFactor > 0.3 && pyramidFactor < 1 else {
            throw .invalidSetting(name: "pyramid factor", reason: "\(pyramidFactor) must be in 0.3...1 (exclusive)")
        }
        guard coarsestSide >= PatchDistance.side else {
            throw .invalidSetting(name: "coarsest side", reason: "\(coarsestSide) must be at least \(PatchDistance.side)")
        }
        guard (1...100).contains(passes) else { throw .invalidSetting(name: "passes", reason: "\(passes) must be in 1...100") }
        guard (1...100).contains(firstPasses) else {
            throw .invalidSetting(name: "first passes", reason: "\(firstPasses) must be in 1...100")
        }
        guard alpha > 0 && alpha.isFinite else { throw .invalidSetting(name: "alpha", reason: "\(alpha) must be positive") }
        guard noise >= 0 && noise <= 10 else { throw .invalidSetting(name: "noise", reason: "\(noise) must be in 0...10") }
        guard structure >= 0 else { throw .invalidSetting(name: "structure", reason: "\(structure) must be at least 0") }
        if case .patchMatch(let iterations) = search, !(1...100).contains(iterations) {
            throw .invalidSetting(name: "search iterations", reason: "\(iterations) must be in 1...100")
        }
        guard threads >= 1 else { throw .invalidSetting(name: "threads", reason: "\(threads) must be at least 1") }
        guard (PatchDistance.side...65_535).contains(maxSide) else {
            throw .invalidSetting(name: "max side", reason: "\(maxSide) must be in \(PatchDistance.side)...65535")
        }
    }
}
