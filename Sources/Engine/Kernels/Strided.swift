/// Index arithmetic for broadcasting and reductions on contiguous row-major buffers.
///
/// An operand is viewed in the index space of a larger shape with strides of 0 along
/// broadcast dimensions. Adjacent dimensions that are contiguous for every operand are merged,
/// so that the innermost loop is as long as possible; the caller then processes one row at a
/// time, where a row's stride is 1 (contiguous) or 0 (one repeated value) for each operand.
enum Strided {
    /// Row-major strides of a contiguous tensor.
    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var s = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = s
            s *= shape[i]
        }
        return strides
    }

    /// NumPy broadcasting of two shapes (right-aligned; size-1 dimensions stretch), or nil.
    static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return out
    }

    /// Strides of a contiguous tensor of `shape` viewed in the index space of `target`
    /// (which `shape` broadcasts to): 0 along stretched or missing dimensions.
    static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        let own = contiguousStrides(shape)
        let offset = target.count - shape.count
        return (0..<target.count).map { i in
            i < offset || (shape[i - offset] == 1 && target[i] != 1) ? 0 : own[i - offset]
        }
    }

    /// Drops size-1 dimensions and merges dimensions that are contiguous for every operand.
    static func merge(_ dims: [Int], _ strides: [[Int]]) -> (dims: [Int], strides: [[Int]]) {
        var outDims: [Int] = []
        var outStrides = [[Int]](repeating: [], count: strides.count)
        for i in 0..<dims.count where dims[i] != 1 {
            if let last = outDims.last,
               strides.indices.allSatisfy({ k in outStrides[k].last! == strides[k][i] * dims[i] }) {
                outDims[outDims.count - 1] = last * dims[i]
                for k in strides.indices { outStrides[k][outStrides[k].count - 1] = strides[k][i] }
            } else {
                outDims.append(dims[i])
                for k in strides.indices { outStrides[k].append(strides[k][i]) }
            }
        }
        if outDims.isEmpty {
            outDims = [1]
            for k in strides.indices { outStrides[k] = [0] }
        }
        return (outDims, outStrides)
    }

    /// Calls `body(offsets, innerStrides, n)` for every innermost row of `dims`, with each
    /// operand's starting offset and its stride along the row (0 or 1 for contiguous operands).
    static func forEachRow(_ dims: [Int], _ strides: [[Int]],
                           _ body: (_ offsets: [Int], _ inner: [Int], _ n: Int) -> Void) {
        let (d, s) = merge(dims, strides)
        let operands = s.count
        let inner = s.map { $0.last! }
        let n = d.last!
        let outer = d.count - 1
        var index = [Int](repeating: 0, count: outer)
        var offsets = [Int](repeating: 0, count: operands)
        let rows = d.dropLast().reduce(1, *)
        for _ in 0..<rows {
            body(offsets, inner, n)
            // Odometer increment over the outer dimensions.
            var axis = outer - 1
            while axis >= 0 {
                index[axis] += 1
                for k in 0..<operands { offsets[k] += s[k][axis] }
                if index[axis] < d[axis] { break }
                for k in 0..<operands { offsets[k] -= s[k][axis] * d[axis] }
                index[axis] = 0
                axis -= 1
            }
        }
    }

    /// `forEachRow` with the rows (or the pieces of a single long row) spread over
    /// `ComputeThreads`. Only for bodies whose rows write disjoint outputs.
    static func forEachRowInParallel(_ dims: [Int], _ strides: [[Int]],
                                     _ body: (_ offsets: [Int], _ inner: [Int], _ n: Int) -> Void) {
        let (d, s) = merge(dims, strides)
        let inner = s.map { $0.last! }, n = d.last!
        let rows = d.dropLast().reduce(1, *)
        if rows == 1 {
            ComputeThreads.forEachPiece(n) { piece in
                body(inner.map { $0 * piece.lowerBound }, inner, piece.count)
            }
            return
        }
        ComputeThreads.forEachItem(rows, valuesPerItem: n) { row in
            // The odometer position of `row` over the outer dimensions, last one fastest.
            var rest = row, offsets = [Int](repeating: 0, count: s.count)
            for axis in stride(from: d.count - 2, through: 0, by: -1) {
                let i = rest % d[axis]
                rest /= d[axis]
                for k in s.indices { offsets[k] += i * s[k][axis] }
            }
            body(offsets, inner, n)
        }
    }
}
