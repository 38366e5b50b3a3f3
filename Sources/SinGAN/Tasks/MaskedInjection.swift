import Engine

/// What harmonization and editing share (docs/ALGORITHM.md section 4): inject a reference image at a
/// scale, then keep the model's result only inside the dilated, blurred mask.
public struct MaskedInjection {
    /// G_n ... G_N applied to the injected reference (the unmasked result).
    public let result: Tensor
    /// `(1 - mask) * original + mask * result`.
    public let blended: Tensor

    /// Injects `reference` (the finest scale's size) at `scale` and blends the result into the
    /// training image with `mask`.
    public init(model: SinGANModel, reference: Tensor, mask: BlendMask, atScale scale: Int,
                rng: RandomGenerator) throws {
        let original = model.scales[model.finest].real
        result = try model.generate(fromInput: try model.injectionInput(reference, atScale: scale), atScale: scale, rng: rng)
        blended = Tensor(shape: original.shape, scalars: mask.blend(original: original.scalars, result: result.scalars, channels: 3))
    }
}
