import Foundation
import SinGAN

/// Peak memory of task runs, estimated before they run, so that the daemon can refuse a run
/// over its memory budget instead of being killed by the kernel halfway through it.
public enum MemoryEstimate {
    /// Loading an image of `pixels`: libvips' decoded copy (up to 4 bands of 16 bits, 8 bytes a
    /// pixel), the planar float tensor (3 x 4) and one float copy while converting (12): 32 bytes
    /// a pixel, so 1.6 GB for a 7000 x 7000 image.
    public static func decoding(pixels: Int) -> Int { 32 * max(0, pixels) }

    /// Training at the working size (longer side at most `config.maxSize`): 390 bytes per pixel
    /// and channel of the finest scale, scaled from the 2.3 GB measured for one training
    /// iteration at 186 x 248 with 128 channels (docs/ENGINE.md).
    public static func training(_ config: TrainingConfig, width: Int, height: Int) -> Int {
        let scale = min(1, Double(config.maxSize) / Double(max(width, height, 1)))
        let pixels = Double(width) * scale * Double(height) * scale
        return Int(390 * pixels * Double(config.maxChannels))
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
