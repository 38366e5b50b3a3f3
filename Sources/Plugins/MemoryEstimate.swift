import Foundation
import SinGAN

/// Peak memory of task runs, estimated before they run, so that the daemon can refuse a run
/// over its memory budget instead of being killed by the kernel halfway through it.
public enum MemoryEstimate {
    /// Loading an image of `pixels`: libvips' decoded copy (up to 4 bands of 16 bits, 8 bytes a
    /// pixel), the planar float tensor (3 x 4) and one float copy while converting (12): 32 bytes
    /// a pixel, so 1.6 GB for a 7000 x 7000 image.
    public static func decoding(pixels: Int) -> Int { 32 * max(0, pixels) }

    /// Training at the working size (longer side at most `config.maxSize`). Two terms:
    /// - the training graph: 390 bytes per pixel and channel of what a step trains on, scaled
    ///   from the 2.3 GB measured for one iteration at 186 x 248 with 128 channels
    ///   (docs/ENGINE.md); that is the whole image, or the `cropSize` window (`fast`: 128 x 128);
    /// - with a window, what stays at the full working size: the coarser scales' outputs run
    ///   without gradients (`generator`), the bank of `randomInputBank` upsampled inputs (3
    ///   floats a pixel each) and the pyramid, 20 bytes per pixel and channel + 12 per bank
    ///   entry + 48 a pixel. Measured (peak resident set less the 57 MB of an idle `singan`,
    ///   `fast --iters 6` on balloons grown to 1984 x 1488, 2026-12-02, 128 x 128 windows):
    ///   2.50 GB at 1984 x 1488, where this says 2.80; 56 MB at 248 x 186, where this says 245
    ///   (the graph term, measured at 128 channels, is generous at 32). The paper preset's
    ///   whole-image graph already holds these buffers.
    public static func training(_ config: TrainingConfig, width: Int, height: Int) -> Int {
        let scale = min(1, Double(config.maxSize) / Double(max(width, height, 1)))
        let w = Int((Double(width) * scale).rounded()), h = Int((Double(height) * scale).rounded())
        let side = config.cropSize > 0 ? config.cropSize : Int.max
        let pixels = w * h, window = min(w, side) * min(h, side)
        let channels = config.maxChannels
        let graph = 390 * window * channels
        let fullSize = window < pixels ? pixels * (20 * channels + 12 * config.randomInputBank + 48) : 0
        return graph + fullSize
    }

    /// Running a generator of `channels` over `pixels` without gradients (super-resolution's
    /// steps): about four activations of `channels` floats a pixel alive at once (the layer's
    /// input and output, and the convolution's transformed tiles). From the buffers' sizes.
    public static func generator(pixels: Int, channels: Int) -> Int { 16 * max(1, channels) * max(0, pixels) }

    /// "2.5 GB", "640 MB": a size for messages.
    public static func text(_ bytes: Int) -> String {
        bytes >= 1 << 30 ? String(format: "%.1f GB", Double(bytes) / Double(1 << 30))
                         : String(format: "%.0f MB", Double(bytes) / Double(1 << 20))
    }
}
