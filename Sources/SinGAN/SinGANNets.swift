import Engine

/// The head and body shared by SinGAN's generator and critic: ConvBlock(3 -> C) and three
/// ConvBlock(C -> C), then a tail convolution (C -> tailChannels). Names: b0...b3, tail.
public final class ConvStack: Module {
    public let blocks: [ConvBlock]
    public let tail: Conv2d
    /// C, the width of every block.
    public let channels: Int
    public var isTraining = true { didSet { for b in blocks { b.isTraining = isTraining } } }

    init(channels: Int, tailChannels: Int, rng: RandomGenerator) {
        self.channels = channels
        blocks = (0..<4).map { i in
            ConvBlock(inChannels: i == 0 ? 3 : channels, outChannels: channels, rng: rng)
        }
        tail = Conv2d(inChannels: channels, outChannels: tailChannels, rng: rng)
    }

    public var parameters: [Tensor] { blocks.flatMap(\.parameters) + tail.parameters }
    public var namedTensors: [(name: String, tensor: Tensor)] {
        blocks.enumerated().flatMap { prefixed("b\($0.offset)", $0.element) } + prefixed("tail", tail)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        tail(blocks.reduce(x) { h, block in block(h) })
    }
}

/// A network that is one `ConvStack` plus its own output rule: SinGAN's generator and critic.
/// Its parameters, tensor names and mode are the stack's.
public protocol ConvStackNetwork: Module {
    var stack: ConvStack { get }
}

extension ConvStackNetwork {
    /// The width (nfc) of every block.
    public var channels: Int { stack.channels }
    public var parameters: [Tensor] { stack.parameters }
    public var namedTensors: [(name: String, tensor: Tensor)] { stack.namedTensors }
    public var isTraining: Bool {
        get { stack.isTraining }
        set { stack.isTraining = newValue }
    }
}

/// SinGAN's generator G_n (docs/ALGORITHM.md section 2): `G(x, y) = tanh(tail(body(head(x)))) + crop(y, 5)`.
/// x and y come zero-padded by 5 pixels; the output has the unpadded size. Five valid 3x3
/// convolutions shrink by 10, hence the crop.
public final class Generator: ConvStackNetwork {
    public let stack: ConvStack

    /// A freshly initialised generator with `channels` (nfc) channels per block.
    public init(channels: Int, rng: RandomGenerator) {
        stack = ConvStack(channels: channels, tailChannels: 3, rng: rng)
    }

    /// x: noise plus upsampled previous output, y: the upsampled previous output; both
    /// [N, 3, H+10, W+10]. Returns [N, 3, H, W].
    public func callAsFunction(_ x: Tensor, _ y: Tensor) -> Tensor {
        shapeCheck(x.shape == y.shape, "Generator", "x shape \(x.shape) differs from y shape \(y.shape)")
        return tanh(stack(x)) + crop(y, 5)
    }
}

/// SinGAN's critic D_n: the same head and body and a one-channel tail without activation; its
/// output is a map of patch scores ([N, 1, H-10, W-10]).
public final class Critic: ConvStackNetwork {
    public let stack: ConvStack

    /// A freshly initialised critic with `channels` (nfc) channels per block.
    public init(channels: Int, rng: RandomGenerator) {
        stack = ConvStack(channels: channels, tailChannels: 1, rng: rng)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { stack(x) }
}
