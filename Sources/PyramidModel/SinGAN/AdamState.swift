/// A copy of an Adam optimiser's state (moments and step count), for checkpoints.
struct AdamState {
    var firstMoments: [[Float]]
    var secondMoments: [[Float]]
    var stepCount: Int

    init(firstMoments: [[Float]], secondMoments: [[Float]], stepCount: Int) {
        self.firstMoments = firstMoments
        self.secondMoments = secondMoments
        self.stepCount = stepCount
    }

    init(_ adam: Adam) {
        self.init(firstMoments: adam.firstMoments, secondMoments: adam.secondMoments, stepCount: adam.stepCount)
    }

    /// Puts this state into `adam` (same parameters).
    func apply(to adam: Adam) {
        adam.restore(stepCount: stepCount, firstMoments: firstMoments, secondMoments: secondMoments)
    }
}

extension Module {
    /// The trainable tensors with their names from `namedTensors`, in `parameters` order (the
    /// optimiser's order).
    var namedParameters: [(name: String, tensor: Tensor)] {
        let names = Dictionary(namedTensors.map { (ObjectIdentifier($0.tensor), $0.name) },
                               uniquingKeysWith: { first, _ in first })
        return parameters.map { p in
            guard let name = names[ObjectIdentifier(p)] else {
                preconditionFailure("namedParameters: a parameter of shape \(p.shape) is not in namedTensors")
            }
            return (name, p)
        }
    }
}
