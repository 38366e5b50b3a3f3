/// Errors for data that comes from outside the program (files, user input). Wrong shapes in
/// code are programming errors and stop with a precondition message instead.
public enum TensorError: Error, CustomStringConvertible, Equatable {
    /// `scalars.count` does not match the product of `shape`.
    case countMismatch(shape: [Int], count: Int)
    /// A dimension is negative.
    case negativeDimension(shape: [Int])
    /// A module state lacks a tensor the module needs.
    case missingTensor(name: String)
    /// A module state has a tensor of the wrong shape.
    case shapeMismatch(name: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case let .countMismatch(shape, count):
            return "tensor of shape \(shape) needs \(shape.reduce(1, *)) values, got \(count)"
        case let .negativeDimension(shape):
            return "tensor shape \(shape) has a negative dimension"
        case let .missingTensor(name):
            return "state has no tensor named '\(name)'"
        case let .shapeMismatch(name, expected, found):
            return "tensor '\(name)' has shape \(found), expected \(expected)"
        }
    }
}

extension Tensor {
    /// A leaf tensor from external data, validated: throws instead of stopping.
    public convenience init(validatingShape shape: [Int], scalars: [Float]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw TensorError.negativeDimension(shape: shape) }
        guard shape.reduce(1, *) == scalars.count else {
            throw TensorError.countMismatch(shape: shape, count: scalars.count)
        }
        self.init(shape: shape, scalars: scalars)
    }
}

extension Module {
    /// Loads parameters and running statistics by name (see `namedTensors`). Checks every
    /// name and shape first, so a failed load changes nothing. Extra names are ignored.
    public func load(_ state: [String: Tensor]) throws {
        let targets = namedTensors
        for (name, t) in targets {
            guard let source = state[name] else { throw TensorError.missingTensor(name: name) }
            guard source.shape == t.shape else {
                throw TensorError.shapeMismatch(name: name, expected: t.shape, found: source.shape)
            }
        }
        for (name, t) in targets { t.scalars = state[name]!.scalars }
    }
}
