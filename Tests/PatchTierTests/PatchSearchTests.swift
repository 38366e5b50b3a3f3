import XCTest
@testable import PatchTier

/// The distance kernel against a plain loop, and PatchMatch against brute force.
final class PatchSearchTests: XCTestCase {
    /// The squared distance of two patches, one float at a time.
    func referenceDistance(_ a: PatchImage, _ ax: Int, _ ay: Int, _ b: PatchImage, _ bx: Int, _ by: Int) -> Float {
        var sum: Float = 0
        for dy in 0..<7 {
            for dx in 0..<7 {
                for c in 0..<3 {
                    let d = a.pixels[((ay + dy) * a.width + ax + dx) * 4 + c] - b.pixels[((by + dy) * b.width + bx + dx) * 4 + c]
                    sum += d * d
                }
            }
        }
        return sum
    }

    func distance(_ a: PatchImage, _ ax: Int, _ ay: Int, _ b: PatchImage, _ bx: Int, _ by: Int, bound: Float = .infinity) -> Float {
        a.pixels.withUnsafeBufferPointer { pa in
            b.pixels.withUnsafeBufferPointer { pb in
                PatchDistance.squared(pa.baseAddress! + (ay * a.width + ax) * 4, a.rowStride,
                                      pb.baseAddress! + (by * b.width + bx) * 4, b.rowStride, bound: bound)
            }
        }
    }

    func testDistanceMatchesAPlainLoopAndStopsOnlyAboveTheBound() {
        let a = testImage(width: 30, height: 20, seed: 4), b = testImage(width: 25, height: 28, seed: 5)
        var random = PatchRandom(seed: 9)
        for _ in 0..<200 {
            let ax = random.below(a.patchColumns), ay = random.below(a.patchRows)
            let bx = random.below(b.patchColumns), by = random.below(b.patchRows)
            let exact = referenceDistance(a, ax, ay, b, bx, by)
            XCTAssertEqual(distance(a, ax, ay, b, bx, by), exact, accuracy: 1e-4 * max(1, exact))
            // With a bound below the distance: stops early or not, but never reports at or below it.
            XCTAssertGreaterThan(distance(a, ax, ay, b, bx, by, bound: exact * 0.5), exact * 0.5)
        }
        XCTAssertEqual(distance(a, 3, 4, a, 3, 4), 0)
    }

    /// Queries: the keys' image shifted, resized and perturbed, so most have a clear nearest key.
    func images() throws -> (queries: PatchImage, keys: PatchImage) {
        let keys = testImage(width: 48, height: 36, seed: 7)
        var queries = try testImage(width: 48, height: 36, seed: 7).resized(width: 44, height: 38)
        var random = PatchRandom(seed: 3)
        for i in queries.pixels.indices where i % 4 != 3 { queries.pixels[i] += Float(random.unit() - 0.5) * 0.02 }
        return (queries, keys)
    }

    /// Fraction of queries whose match costs no more than the exact one (within float rounding),
    /// and the approximate search's total cost over the exact one's.
    func compare(weights: [Float]?, iterations: Int) throws -> (recall: Double, costRatio: Double) {
        let (queries, keys) = try images()
        var exact = PatchField(randomFrom: queries, to: keys, seed: 1)
        ExactSearch.search(&exact, queries: queries, keys: keys, weights: weights, threads: 2)
        var approximate = PatchField(randomFrom: queries, to: keys, seed: 2)
        PatchMatch.search(&approximate, queries: queries, keys: keys, weights: weights, iterations: iterations, seed: 5, threads: 2)

        // Brute force is exact: no key is closer than the one it found (spot checks).
        for i in stride(from: 0, to: exact.keys.count, by: 97) {
            let (x, y) = (i % exact.columns, i / exact.columns)
            let (kx, ky) = exact.match(x: x, y: y)
            let found = referenceDistance(queries, x, y, keys, kx, ky) * (weights?[ky * exact.keyColumns + kx] ?? 1)
            XCTAssertEqual(exact.costs[i], found, accuracy: 1e-4 * max(1, found))
            for ky in 0..<keys.patchRows {
                for kx in 0..<keys.patchColumns {
                    let c = referenceDistance(queries, x, y, keys, kx, ky) * (weights?[ky * exact.keyColumns + kx] ?? 1)
                    XCTAssertGreaterThanOrEqual(c, found * (1 - 1e-4))
                }
            }
        }
        var hits = 0
        for i in exact.costs.indices where approximate.costs[i] <= exact.costs[i] * (1 + 1e-4) + 1e-7 { hits += 1 }
        return (Double(hits) / Double(exact.costs.count),
                Double(approximate.costs.reduce(0, +)) / Double(exact.costs.reduce(0, +)))
    }

    func testPatchMatchFindsTheExactNeighbourOfMostQueries() throws {
        let (recall, costRatio) = try compare(weights: nil, iterations: 6)
        XCTAssertGreaterThan(recall, 0.9, "recall of the exact neighbour")
        XCTAssertLessThan(costRatio, 1.1, "total distance over the exact search's")
    }

    func testPatchMatchWithGPNNWeights() throws {
        let keys = try images().keys
        var random = PatchRandom(seed: 11)
        let weights = (0..<keys.patchCount).map { _ in Float(0.5 + random.unit()) }
        let (recall, costRatio) = try compare(weights: weights, iterations: 6)
        XCTAssertGreaterThan(recall, 0.85)
        XCTAssertLessThan(costRatio, 1.15)
    }

    func testSearchIsDeterministicWhateverTheThreadCount() throws {
        let (queries, keys) = try images()
        var fields: [PatchField] = []
        for threads in [1, 2, 3] {
            var field = PatchField(randomFrom: queries, to: keys, seed: 1)
            PatchMatch.search(&field, queries: queries, keys: keys, weights: nil, iterations: 3, seed: 5, threads: threads)
            fields.append(field)
        }
        XCTAssertEqual(fields[0], fields[1])
        XCTAssertEqual(fields[0], fields[2])
    }

    func testRandomPositionsCoverTheirRangeEvenly() {
        var random = PatchRandom(seed: 1)
        var counts = [Int](repeating: 0, count: 10)
        for _ in 0..<10_000 { counts[random.below(10)] += 1 }
        XCTAssertTrue(counts.allSatisfy { (850...1150).contains($0) }, "\(counts)")
    }

    func testBandsCoverEveryRowOnce() {
        for rows in [1, 7, 16, 17, 40, 100] {
            for shifted in [false, true] {
                let bands = Bands(rows: rows, shifted: shifted)
                let covered = (0..<bands.count).flatMap { Array(bands.rows($0)) }
                XCTAssertEqual(covered, Array(0..<rows), "rows \(rows), shifted \(shifted)")
            }
        }
    }
}
