/// Adam (Kingma & Ba), PyTorch's formulation: bias-corrected moments, epsilon added to
/// √v̂ after the correction, no weight decay.
public final class Adam {
    public let parameters: [Tensor]
    /// Learning rate; settable (SinGAN's training drops it once per scale, `TrainingConfig.learningRate(atIteration:of:)`).
    public var lr: Float
    public let beta1: Float
    public let beta2: Float
    public let eps: Float
    /// Steps taken so far.
    public private(set) var stepCount = 0
    /// First and second moment estimates, one per parameter (the optimiser's state).
    public private(set) var firstMoments: [[Float]]
    public private(set) var secondMoments: [[Float]]

    public init(parameters: [Tensor], lr: Float, betas: (Float, Float) = (0.9, 0.999), eps: Float = 1e-8) {
        self.parameters = parameters
        self.lr = lr
        (beta1, beta2) = betas
        self.eps = eps
        firstMoments = parameters.map { [Float](repeating: 0, count: $0.count) }
        secondMoments = firstMoments
    }

    /// Clears the gradients of the optimised parameters.
    public func zeroGrad() {
        for p in parameters { p.grad = nil }
    }

    /// Updates every parameter that has a gradient.
    public func step() {
        stepCount += 1
        let t = Double(stepCount)
        let correction1 = 1 - LibM.pow(Double(beta1), t)
        let correction2Root = (1 - LibM.pow(Double(beta2), t)).squareRoot()
        let stepSize = Float(Double(lr) / correction1)
        let invRoot = Float(1 / correction2Root)
        let (b1, b2, eps) = (beta1, beta2, eps)
        for (k, p) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            precondition(g.shape == p.shape, "Adam: gradient shape \(g.shape) differs from parameter shape \(p.shape)")
            g.scalars.withUnsafeBufferPointer { pg in
                firstMoments[k].withUnsafeMutableBufferPointer { pm in
                    secondMoments[k].withUnsafeMutableBufferPointer { pv in
                        p.scalars.withUnsafeMutableBufferPointer { pp in
                            for i in 0..<pp.count {
                                let gi = pg[i]
                                pm[i] += (gi - pm[i]) * (1 - b1)
                                pv[i] = pv[i] * b2 + (1 - b2) * gi * gi
                                pp[i] -= stepSize * pm[i] / (pv[i].squareRoot() * invRoot + eps)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Puts back a state saved from `stepCount`, `firstMoments` and `secondMoments` of an
    /// optimiser of the same parameters (a training checkpoint), so that the next `step()`
    /// continues bit for bit as the saved optimiser's would have.
    public func restore(stepCount: Int, firstMoments: [[Float]], secondMoments: [[Float]]) {
        precondition(firstMoments.count == parameters.count && secondMoments.count == parameters.count
                     && zip(parameters, zip(firstMoments, secondMoments)).allSatisfy {
                         $0.count == $1.0.count && $0.count == $1.1.count },
                     "Adam.restore: moments do not fit the parameters")
        self.stepCount = stepCount
        self.firstMoments = firstMoments
        self.secondMoments = secondMoments
    }
}
