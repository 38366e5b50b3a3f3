import Engine

/// Rows of patch positions cut into bands of a fixed height, the engine's unit of parallel work.
///
/// Each band reads and writes only its own rows of a field, and draws its own random numbers,
/// so a band's result does not depend on which thread runs it or when: a seeded run gives the
/// same bytes with any thread count. `shifted` moves every boundary by half a band, so that
/// alternate search iterations propagate matches across the previous iteration's boundaries.
struct Bands {
    /// Rows per band: 16 rows of a 250-pixel image is about 4000 patches, a few milliseconds of
    /// work, small enough that two threads share a level evenly.
    static let height = 16

    let rows: Int
    private let first: Int

    init(rows: Int, shifted: Bool = false) {
        self.rows = rows
        first = shifted ? Self.height / 2 : Self.height
    }

    var count: Int { rows <= first ? 1 : 1 + (rows - first + Self.height - 1) / Self.height }

    /// The rows of band `index`.
    func rows(_ index: Int) -> Range<Int> {
        if index == 0 { return 0..<min(rows, first) }
        let start = first + (index - 1) * Self.height
        return start..<min(rows, start + Self.height)
    }

    /// Runs `body(item)` for every item in `0..<items` on up to `threads` threads
    /// (`ComputeThreads.parallelFor`: a thread slowed by another process does not hold the rest back).
    static func parallel(_ items: Int, threads: Int, _ body: (Int) -> Void) {
        ComputeThreads.parallelFor(items, threads: threads) { _, item in body(item) }
    }
}
