/// A nearest-neighbour field: for every patch position of one image (the queries), the
/// position of its chosen patch in another image (the keys), and the cost of that match.
///
/// Memory is two values per query position (8 bytes), never a query-by-key matrix.
public struct PatchField: Sendable, Equatable {
    /// Query patch positions per row and per column.
    public let columns: Int, rows: Int
    /// Key patch positions per row and per column.
    public let keyColumns: Int, keyRows: Int
    /// The match of query position (x, y), at `y * columns + x`, packed as `ky << 16 | kx`
    /// (sides stay below 65536: outputs are limited to far less).
    public internal(set) var keys: [UInt32]
    /// The cost of each match (the squared distance, times the key's weight when weighted).
    public internal(set) var costs: [Float]

    /// A field between `queries` and `keys` with matches drawn uniformly at random.
    init(randomFrom queries: PatchImage, to keys: PatchImage, seed: UInt64) {
        columns = queries.patchColumns; rows = queries.patchRows
        keyColumns = keys.patchColumns; keyRows = keys.patchRows
        var random = PatchRandom(seed: seed)
        var packed = [UInt32](repeating: 0, count: columns * rows)
        for i in packed.indices {
            packed[i] = Self.pack(random.below(keyColumns), random.below(keyRows))
        }
        self.keys = packed
        costs = [Float](repeating: .infinity, count: packed.count)
    }

    /// This field, made for finer images: each query position takes the match of the query at
    /// the same relative place, moved by the query's offset from it and scaled to the new keys.
    /// A good start for the search at the next pyramid level.
    func resampled(to queries: PatchImage, keys: PatchImage) -> PatchField {
        let newColumns = queries.patchColumns, newRows = queries.patchRows
        let newKeyColumns = keys.patchColumns, newKeyRows = keys.patchRows
        // Old positions per new position, for queries and for keys.
        let qx = Double(columns) / Double(newColumns), qy = Double(rows) / Double(newRows)
        let kx = Double(newKeyColumns) / Double(keyColumns), ky = Double(newKeyRows) / Double(keyRows)
        var packed = [UInt32](repeating: 0, count: newColumns * newRows)
        for y in 0..<newRows {
            let oldY = min(rows - 1, Int(Double(y) * qy))
            for x in 0..<newColumns {
                let oldX = min(columns - 1, Int(Double(x) * qx))
                let (matchX, matchY) = Self.unpack(self.keys[oldY * columns + oldX])
                let fx = (Double(matchX) + Double(x) * qx - Double(oldX)) * kx
                let fy = (Double(matchY) + Double(y) * qy - Double(oldY)) * ky
                packed[y * newColumns + x] = Self.pack(min(newKeyColumns - 1, max(0, Int(fx.rounded()))),
                                                       min(newKeyRows - 1, max(0, Int(fy.rounded()))))
            }
        }
        return PatchField(columns: newColumns, rows: newRows, keyColumns: newKeyColumns, keyRows: newKeyRows,
                          keys: packed, costs: [Float](repeating: .infinity, count: packed.count))
    }

    init(columns: Int, rows: Int, keyColumns: Int, keyRows: Int, keys: [UInt32], costs: [Float]) {
        self.columns = columns; self.rows = rows
        self.keyColumns = keyColumns; self.keyRows = keyRows
        self.keys = keys; self.costs = costs
    }

    /// Whether this field maps `queries`' patches to `keys`' (so it can start a search).
    func fits(_ queries: PatchImage, _ keys: PatchImage) -> Bool {
        columns == queries.patchColumns && rows == queries.patchRows
            && keyColumns == keys.patchColumns && keyRows == keys.patchRows
    }

    /// The match of query position (x, y).
    public func match(x: Int, y: Int) -> (x: Int, y: Int) { Self.unpack(keys[y * columns + x]) }

    @inline(__always) static func pack(_ x: Int, _ y: Int) -> UInt32 { UInt32(y) << 16 | UInt32(x) }
    @inline(__always) static func unpack(_ k: UInt32) -> (x: Int, y: Int) { (Int(k & 0xFFFF), Int(k >> 16)) }
}
