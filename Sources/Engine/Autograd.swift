#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// One recorded op: its inputs and its backward rule.
///
/// The rule receives the gradient of the op's output, the output itself, and which inputs need a
/// gradient; it returns one gradient per input (nil where not needed). Rules are written in
/// differentiable ops, so when the backward pass runs with `createGraph` the rules themselves
/// are recorded and can be differentiated again (second order, as WGAN-GP needs).
final class Node {
    let name: String
    let inputs: [Tensor]
    let backward: (_ grad: Tensor, _ output: Tensor, _ needs: [Bool]) -> [Tensor?]

    init(_ name: String, _ inputs: [Tensor],
         _ backward: @escaping (_ grad: Tensor, _ output: Tensor, _ needs: [Bool]) -> [Tensor?]) {
        self.name = name
        self.inputs = inputs
        self.backward = backward
    }
}

/// Whether ops record themselves for differentiation. Per thread; on by default.
public enum GradMode {
    /// A thread-local flag: no value (the default) means enabled.
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Whether ops run on this thread are recorded.
    public static var isEnabled: Bool {
        get { pthread_getspecific(key) == nil }
        set { pthread_setspecific(key, newValue ? nil : UnsafeRawPointer(bitPattern: 1)) }
    }
}

/// Runs `body` with recording enabled or disabled on this thread, restoring the previous mode.
public func withGradMode<T>(_ enabled: Bool, _ body: () throws -> T) rethrows -> T {
    let previous = GradMode.isEnabled
    GradMode.isEnabled = enabled
    defer { GradMode.isEnabled = previous }
    return try body()
}

/// Runs `body` without recording ops: results have no graph and do not require gradients.
public func withNoGrad<T>(_ body: () throws -> T) rethrows -> T {
    try withGradMode(false, body)
}

/// Makes an op result, recording `backward` when gradients are enabled and an input needs them.
@inline(__always)
func record(_ name: String, shape: [Int], scalars: [Float], inputs: [Tensor],
            backward: @escaping (_ grad: Tensor, _ output: Tensor, _ needs: [Bool]) -> [Tensor?]) -> Tensor {
    if GradMode.isEnabled && inputs.contains(where: { $0.requiresGrad }) {
        return Tensor(shape: shape, scalars: scalars, creator: Node(name, inputs, backward))
    }
    return Tensor(shape: shape, scalars: scalars, creator: nil)
}

/// Gradients of `output` with respect to each of `inputs` (zeros for inputs it does not depend
/// on). `seed` is the gradient of the output (default: ones, i.e. the gradient of `sum(output)`).
///
/// With `createGraph`, the backward pass is itself recorded: the returned gradients are graph
/// tensors that can be differentiated again (e.g. a gradient penalty). Without it they are
/// plain values. Leaves' `.grad` is not touched.
public func gradients(of output: Tensor, with inputs: [Tensor], seed: Tensor? = nil,
                      createGraph: Bool = false) -> [Tensor] {
    let targets = Set(inputs.map(ObjectIdentifier.init))
    let grads = backpropagate(from: output, seed: seed, createGraph: createGraph,
                              isTarget: { targets.contains(ObjectIdentifier($0)) })
    return inputs.map { grads[ObjectIdentifier($0)] ?? Tensor.zeros($0.shape) }
}

extension Tensor {
    /// Accumulates the gradient of this tensor (usually a scalar loss; otherwise of its sum)
    /// into the `.grad` of every leaf that requires gradients.
    public func backward() {
        let grads = backpropagate(from: self, seed: nil, createGraph: false,
                                  isTarget: { $0.isLeaf && $0.requiresGrad })
        var seen = Set<ObjectIdentifier>()
        var leaves: [Tensor] = []
        collectLeaves(self, &seen, &leaves)
        for leaf in leaves {
            guard let g = grads[ObjectIdentifier(leaf)] else { continue }
            if let existing = leaf.grad {
                existing.scalars.withUnsafeMutableBufferPointer { dst in
                    g.scalars.withUnsafeBufferPointer { src in
                        Vector.add(dst.baseAddress!, src.baseAddress!, dst.baseAddress!, dst.count)
                    }
                }
            } else {
                leaf.grad = g.detached()
            }
        }
    }

    /// Clears `.grad`.
    public func zeroGrad() { grad = nil }
}

private func collectLeaves(_ t: Tensor, _ seen: inout Set<ObjectIdentifier>, _ leaves: inout [Tensor]) {
    guard t.requiresGrad, seen.insert(ObjectIdentifier(t)).inserted else { return }
    if let node = t.creator {
        for input in node.inputs { collectLeaves(input, &seen, &leaves) }
    } else {
        leaves.append(t)
    }
}

/// The reverse pass. Visits only tensors from which a target is reachable, so that e.g. the
/// gradient with respect to a critic's input does not compute its weight gradients.
private func backpropagate(from root: Tensor, seed: Tensor?, createGraph: Bool,
                           isTarget: (Tensor) -> Bool) -> [ObjectIdentifier: Tensor] {
    // Post-order of the relevant subgraph; `relevant[id]` memoises "a target is reachable".
    var relevant: [ObjectIdentifier: Bool] = [:]
    var order: [Tensor] = []
    func visit(_ t: Tensor) -> Bool {
        let id = ObjectIdentifier(t)
        if let known = relevant[id] { return known }
        guard t.requiresGrad else { relevant[id] = false; return false }
        var reaches = isTarget(t)
        relevant[id] = reaches  // provisional; graphs are acyclic
        if let node = t.creator {
            for input in node.inputs where visit(input) { reaches = true }
        }
        relevant[id] = reaches
        if reaches { order.append(t) }
        return reaches
    }
    guard visit(root) else { return [:] }

    let seedTensor = seed ?? Tensor.ones(root.shape)
    shapeCheck(seedTensor.shape == root.shape, "gradients", "seed shape \(seedTensor.shape) differs from output shape \(root.shape)")
    var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): seedTensor]
    return withGradMode(createGraph) {
        for t in order.reversed() {
            let id = ObjectIdentifier(t)
            guard let node = t.creator, let g = grads[id] else { continue }
            if !isTarget(t) { grads[id] = nil }  // consumed: free it early
            let needs = node.inputs.map { relevant[ObjectIdentifier($0)] ?? false }
            guard needs.contains(true) else { continue }  // a target's own history: not needed
            let inputGrads = node.backward(g, t, needs)
            for (i, input) in node.inputs.enumerated() where needs[i] {
                guard let gi = inputGrads[i] else { continue }
                shapeCheck(gi.shape == input.shape, "gradients",
                           "backward of \(node.name) gave input \(i) a gradient of shape \(gi.shape), expected \(input.shape)")
                let key = ObjectIdentifier(input)
                grads[key] = grads[key].map { $0 + gi } ?? gi
            }
        }
        return grads
    }
}
