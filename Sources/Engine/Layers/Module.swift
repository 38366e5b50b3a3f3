/// A network part with trainable parameters and, possibly, non-trainable state (BatchNorm
/// running statistics).
public protocol Module: AnyObject {
    /// Trainable tensors, in a fixed order (the optimiser's and the model file's order).
    var parameters: [Tensor] { get }
    /// Parameters and buffers (running statistics) with stable dotted names, e.g. "b0.conv.w",
    /// "b0.bn.mean". The model file and `copyWeights(from:)` use this list.
    var namedTensors: [(name: String, tensor: Tensor)] { get }
    /// Training mode (batch statistics, updated running statistics) or inference mode.
    var isTraining: Bool { get set }
}

extension Module {
    /// Clears the gradients of all parameters.
    public func zeroGrad() {
        for p in parameters { p.grad = nil }
    }

    /// Copies every parameter and buffer of `other` (same architecture) into this module.
    public func copyWeights(from other: Self) {
        let mine = namedTensors, theirs = other.namedTensors
        precondition(mine.count == theirs.count, "copyWeights: \(theirs.count) tensors into \(mine.count)")
        for (a, b) in zip(mine, theirs) {
            precondition(a.name == b.name && a.tensor.shape == b.tensor.shape,
                         "copyWeights: \(b.name) \(b.tensor.shape) does not fit \(a.name) \(a.tensor.shape)")
            a.tensor.scalars = b.tensor.scalars
        }
    }

    /// Prefixes the names of a child's tensors.
    public func prefixed(_ prefix: String, _ child: Module) -> [(name: String, tensor: Tensor)] {
        child.namedTensors.map { ("\(prefix).\($0.name)", $0.tensor) }
    }

    /// The trainable tensors with their names from `namedTensors`, in `parameters` order (the
    /// optimiser's order).
    public var namedParameters: [(name: String, tensor: Tensor)] {
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

/// A trainable leaf tensor.
func parameter(_ t: Tensor) -> Tensor {
    t.requiresGrad = true
    return t
}
