import Engine
import Foundation

/// A trained SinGAN: one generator per scale (coarsest first), each with its noise amplitude
/// and the real image of its scale, the reconstruction noise z*, and the configuration that
/// made it. Generators run in inference mode (BatchNorm with running statistics).
public final class SinGANModel {
    /// One finished scale of the pyramid.
    public struct Scale {
        /// G_n, in inference mode.
        public let generator: Generator
        /// sigma_n: the amplitude of the noise added at this scale (1 at scale 0).
        public let sigma: Float
        /// The training image at this scale, [1, 3, h, w] in [-1, 1].
        public let real: Tensor

        public init(generator: Generator, sigma: Float, real: Tensor) {
            self.generator = generator
            self.sigma = sigma
            self.real = real
        }

        /// The size of this scale.
        public var size: ImageSize { ImageSize(height: real.shape[2], width: real.shape[3]) }
        /// The width (channels) of this scale's networks.
        public var channels: Int { generator.channels }
    }

    /// The version of the model file layout this program writes. Version 2 records the
    /// upsampling between scales in the configuration; version 1 files (which lack it) are still
    /// read, and sample with the grow-and-crop upsampling they were trained with.
    public static let formatVersion = 2
    /// The versions this program reads.
    public static let readableFormatVersions = 1...2
    /// The `format` metadata value that marks a SinGAN model file.
    public static let formatName = "singan-swift"

    /// Finished scales, index 0 the coarsest.
    public internal(set) var scales: [Scale]
    /// The reconstruction noise of scale 0 (as fed to G_0 before padding; padded size with
    /// noise padding).
    public internal(set) var zStar: Tensor
    /// How the model was trained.
    public let config: TrainingConfig
    /// The pyramid the model was trained on.
    public let geometry: PyramidGeometry

    public init(scales: [Scale], zStar: Tensor, config: TrainingConfig, geometry: PyramidGeometry) {
        self.scales = scales
        self.zStar = zStar
        self.config = config
        self.geometry = geometry
    }

    /// The number of scales.
    public var count: Int { scales.count }
    /// The finest scale's index.
    public var finest: Int { scales.count - 1 }
    /// The size of every scale of the pyramid (finished or not).
    public var sizes: [ImageSize] { geometry.sizes }

    /// Writes the model atomically (see `SafeTensorsFile.write(to:)`).
    public func save(to path: String) throws {
        try ModelFile.encode(model: self, training: nil).write(to: path)
    }

    /// Loads and validates a model file. A checkpoint of an unfinished run is rejected (it is
    /// not a model yet: finish it with `singan train --resume`).
    public static func load(from path: String) throws -> SinGANModel {
        let file = try SafeTensorsFile.read(from: path)
        let contents = try ModelFile.decode(file, path: path)
        guard contents.training == nil else {
            throw SinGANError.modelFile(path: path, kind: .incompatible,
                reason: "this is the checkpoint of an unfinished training run (\(contents.model.count) of \(contents.model.geometry.count) scales); finish it with `singan train --resume`")
        }
        return contents.model
    }
}
