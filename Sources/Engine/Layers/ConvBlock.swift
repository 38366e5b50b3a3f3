/// Conv 3x3 -> BatchNorm -> LeakyReLU(0.2): SinGAN's building block.
public final class ConvBlock: Module {
    public let conv: Conv2d
    public let bn: BatchNorm2d
    public var isTraining = true { didSet { bn.isTraining = isTraining } }

    public init(inChannels: Int, outChannels: Int, rng: RandomGenerator) {
        conv = Conv2d(inChannels: inChannels, outChannels: outChannels, rng: rng)
        bn = BatchNorm2d(channels: outChannels, rng: rng)
    }

    public var parameters: [Tensor] { conv.parameters + bn.parameters }
    public var namedTensors: [(name: String, tensor: Tensor)] { prefixed("conv", conv) + prefixed("bn", bn) }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        bn(conv(x), leakyReLUSlope: 0.2)
    }
}
