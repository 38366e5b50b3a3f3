/// A dense, contiguous, row-major (NCHW for images) array of `Float`, and a node of the autograd
/// graph.
///
/// Reference semantics: ops never mutate their inputs; they return new tensors. A tensor produced
/// by an op while gradients are recorded (see `GradMode`) remembers how it was made (`creator`),
/// which is what `gradients(of:with:createGraph:)` walks backwards.
public final class Tensor {
    /// Dimensions, outermost first. A scalar has shape `[]` or any shape whose product is 1.
    public let shape: [Int]
    /// The values, row-major. Mutating them directly bypasses autograd (use it for in-place
    /// updates of parameters and statistics only, e.g. in optimisers, under no-grad).
    public var scalars: [Float]
    /// For leaves (tensors not made by an op): whether gradients flow to this tensor.
    /// For op results: whether any input required gradients when the op ran.
    public var requiresGrad: Bool
    /// Gradient accumulated by `backward()` (leaves only).
    public var grad: Tensor?
    /// The op that produced this tensor, if it was recorded on the tape.
    let creator: Node?

    /// Creates a leaf tensor. Fails (precondition) when `scalars.count` does not match `shape`.
    public init(shape: [Int], scalars: [Float], requiresGrad: Bool = false) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        precondition(shape.reduce(1, *) == scalars.count,
                     "Tensor: shape \(shape) needs \(shape.reduce(1, *)) scalars, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
        self.requiresGrad = requiresGrad
        self.creator = nil
    }

    /// Creates an op result; `creator` is kept only if it is non-nil (recording).
    init(shape: [Int], scalars: [Float], creator: Node?) {
        self.shape = shape
        self.scalars = scalars
        self.requiresGrad = creator != nil
        self.creator = creator
    }

    /// A scalar tensor of shape `[]`.
    public convenience init(_ value: Float) {
        self.init(shape: [], scalars: [value])
    }

    /// A tensor of the given shape filled with zeros.
    public static func zeros(_ shape: [Int]) -> Tensor {
        full(shape, value: 0)
    }

    /// A tensor of the given shape filled with ones.
    public static func ones(_ shape: [Int]) -> Tensor {
        full(shape, value: 1)
    }

    /// A tensor of the given shape filled with `value`.
    public static func full(_ shape: [Int], value: Float) -> Tensor {
        Tensor(shape: shape, scalars: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// Number of elements.
    public var count: Int { scalars.count }

    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// The single value of a one-element tensor.
    public var item: Float {
        precondition(scalars.count == 1, "Tensor.item: tensor of shape \(shape) has \(scalars.count) elements, not 1")
        return scalars[0]
    }

    /// Whether this tensor was not produced by a recorded op.
    public var isLeaf: Bool { creator == nil }

    /// A new leaf sharing this tensor's values (copy-on-write), cut from the graph.
    public func detached() -> Tensor {
        Tensor(shape: shape, scalars: scalars)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = scalars.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(head)\(scalars.count > 8 ? ", ..." : "")])"
    }
}

/// Builds an op result of `shape` by letting `body` write every element of an uninitialised
/// buffer. `body` must initialise all `count` elements.
@inline(__always)
func makeScalars(count: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
        if count > 0 { body(buffer.baseAddress!) }
        initialized = count
    }
}

/// Fails with a message naming the op when `condition` is false (a programming error: wrong shapes).
@inline(__always)
public func shapeCheck(_ condition: @autoclosure () -> Bool, _ op: String, _ message: @autoclosure () -> String) {
    precondition(condition(), "\(op): \(message())")
}
