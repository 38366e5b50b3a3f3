/// Per-channel batch normalisation (eps 1e-5, momentum 0.1), see `batchNorm`.
public final class BatchNorm2d: Module {
    /// Scale, [C] (trainable).
    public let gamma: Tensor
    /// Shift, [C] (trainable).
    public let beta: Tensor
    /// Running mean, [C]; starts at 0. State, not a parameter.
    public let runningMean: Tensor
    /// Running unbiased variance, [C]; starts at 1. State, not a parameter.
    public let runningVar: Tensor
    /// Weight of the newest batch in the running statistics; 1 / (k + 1) for the k-th of a
    /// series of batches makes them the series' plain average.
    public var momentum: Float
    public let eps: Float
    public var isTraining = true

    /// gamma = 1 (or N(1, 0.02²) from `rng`, SinGAN's initialisation), beta = 0.
    public init(channels: Int, rng: RandomGenerator? = nil, momentum: Float = 0.1, eps: Float = 1e-5) {
        gamma = parameter(rng?.normal(shape: [channels], mean: 1, std: 0.02) ?? Tensor.ones([channels]))
        beta = parameter(Tensor.zeros([channels]))
        runningMean = Tensor.zeros([channels])
        runningVar = Tensor.ones([channels])
        self.momentum = momentum
        self.eps = eps
    }

    public var parameters: [Tensor] { [gamma, beta] }
    public var namedTensors: [(name: String, tensor: Tensor)] {
        [("gamma", gamma), ("beta", beta), ("mean", runningMean), ("var", runningVar)]
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        batchNorm(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
                  training: isTraining, momentum: momentum, eps: eps)
    }

    /// `leakyReLU(self(x), slope:)`, fused (see `batchNormLeakyReLU`).
    public func callAsFunction(_ x: Tensor, leakyReLUSlope slope: Float) -> Tensor {
        batchNormLeakyReLU(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
                           training: isTraining, slope: slope, momentum: momentum, eps: eps)
    }
}
