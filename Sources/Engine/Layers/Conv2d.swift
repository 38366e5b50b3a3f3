/// A 3x3, stride-1, unpadded convolution with bias.
public final class Conv2d: Module {
    /// [out, in, 3, 3]
    public let weight: Tensor
    /// [out]
    public let bias: Tensor
    public var isTraining = true

    /// SinGAN's initialisation: weight N(0, 0.02²), bias uniform in ±1/√(in·9) (PyTorch's
    /// default bias initialisation).
    public init(inChannels: Int, outChannels: Int, rng: RandomGenerator) {
        weight = parameter(rng.normal(shape: [outChannels, inChannels, 3, 3], std: 0.02))
        let bound = 1 / Float(inChannels * 9).squareRoot()
        bias = parameter(rng.uniform(shape: [outChannels], low: -bound, high: bound))
    }

    public var parameters: [Tensor] { [weight, bias] }
    public var namedTensors: [(name: String, tensor: Tensor)] { [("w", weight), ("b", bias)] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv2d(x, weight: weight, bias: bias)
    }
}
