import Foundation

/// The sizes of the pyramid levels, coarsest (level 0) to finest (the image itself).
///
/// Level i is the image scaled by `factors[i]`: the factor between levels is `pyramidFactor`
/// adjusted so that the coarsest level's shorter side is `coarsestSide`. An output of another
/// size or shape uses the same factors, so each output level matches a source level patch
/// for patch.
public struct PatchPyramid: Sendable, Equatable {
    /// Scale of each level relative to the image, increasing to 1.
    public let factors: [Double]

    /// The pyramid of an image of `width` x `height`.
    public init(width: Int, height: Int, settings: PatchSettings) {
        let shorter = Double(min(width, height)), coarsest = Double(settings.coarsestSide)
        guard shorter > coarsest else {
            factors = [1]
            return
        }
        // Levels of `pyramidFactor` each, rounded up, so the real factor is a little larger.
        let steps = Int((log(coarsest / shorter) / log(settings.pyramidFactor)).rounded(.up))
        factors = (0...steps).map { i in pow(coarsest / shorter, Double(steps - i) / Double(steps)) }
    }

    public var count: Int { factors.count }

    /// The size of level `level` of an image of `width` x `height`: never below a patch.
    public func size(_ level: Int, width: Int, height: Int) -> (width: Int, height: Int) {
        let f = factors[level]
        return (max(PatchDistance.side, Int((Double(width) * f).rounded())),
                max(PatchDistance.side, Int((Double(height) * f).rounded())))
    }
}
