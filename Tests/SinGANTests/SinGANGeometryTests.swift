import Engine
import Foundation
import SinGAN
import XCTest

/// The pyramid sizes and the configuration rules of docs/ALGORITHM.md sections 1-2.
final class SinGANGeometryTests: XCTestCase {
    /// The formula of docs/ALGORITHM.md section 1, written out independently of `PyramidGeometry`.
    private func formulaSizes(height h: Int, width w: Int, minSize: Double, maxSize: Double,
                              factor: Double) -> [ImageSize] {
        let (H, W) = (Double(h), Double(w))
        let numScales = Int(ceil(log(minSize / min(H, W)) / log(factor))) + 1
        let scaleToStop = Int(ceil(log(min(maxSize, max(H, W)) / max(H, W)) / log(factor)))
        let stop = numScales - scaleToStop
        let scale1 = min(maxSize / max(H, W), 1)
        let (h1, w1) = (ceil(H * scale1), ceil(W * scale1))
        let r = pow(minSize / min(h1, w1), 1 / Double(stop))
        return (0...stop).map { i in
            let f = pow(r, Double(stop - i))
            return ImageSize(height: Int(ceil(h1 * f)), width: Int(ceil(w1 * f)))
        }
    }

    func testBalloonsPyramidMatchesThePublishedOne() throws {
        let g = try PyramidGeometry(input: ImageSize(height: 186, width: 248), minSize: 25, maxSize: 250,
                                    scaleFactor: 0.75)
        XCTAssertEqual(g.count, 9)
        XCTAssertEqual(g.factor, 0.77813, accuracy: 1e-5)
        XCTAssertEqual(g.sizes.first, ImageSize(height: 25, width: 34))
        XCTAssertEqual(g.sizes.last, ImageSize(height: 186, width: 248))
        XCTAssertEqual(g.sizes, formulaSizes(height: 186, width: 248, minSize: 25, maxSize: 250, factor: 0.75))
    }

    func testPyramidSizesEqualTheFormulaForManyShapes() throws {
        for (h, w) in [(40, 48), (141, 250), (366, 585), (250, 250), (120, 80), (100, 400), (1000, 1200)] {
            for (minSize, maxSize) in [(25, 250), (20, 96), (18, 250)] {
                let g = try PyramidGeometry(input: ImageSize(height: h, width: w), minSize: minSize,
                                            maxSize: maxSize, scaleFactor: 0.75)
                XCTAssertEqual(g.sizes, formulaSizes(height: h, width: w, minSize: Double(minSize),
                                                     maxSize: Double(maxSize), factor: 0.75), "\(h)x\(w)")
                XCTAssertEqual(max(g.working.height, g.working.width), min(max(h, w), maxSize), "\(h)x\(w) working")
            }
        }
    }

    func testImagesThatCannotHoldAPyramidAreRefused() {
        XCTAssertThrowsError(try PyramidGeometry(input: ImageSize(height: 20, width: 100), minSize: 25,
                                                 maxSize: 250, scaleFactor: 0.75)) { error in
            guard case SinGANError.imageTooSmall = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("below the minimum size 25"), "\(error)")
        }
        // 30x1000 scaled to a 250 px longer side has a 7.5 px shorter side.
        XCTAssertThrowsError(try PyramidGeometry(input: ImageSize(height: 30, width: 1000), minSize: 25,
                                                 maxSize: 250, scaleFactor: 0.75))
    }

    func testWidthPerScaleAndPresets() throws {
        let paper = TrainingConfig.paper
        XCTAssertEqual((0..<10).map(paper.channels(atScale:)), [32, 32, 32, 32, 64, 64, 64, 64, 128, 128])
        XCTAssertEqual(paper.maxSize, 250)
        XCTAssertEqual(paper.minSize, 25)
        XCTAssertEqual(paper.scaleFactor, 0.75)
        XCTAssertEqual(paper.iterations, 2000)
        XCTAssertEqual(paper.learningRate(atIteration: 1599, of: 2000), paper.learningRate)
        XCTAssertEqual(paper.learningRate(atIteration: 1600, of: 2000), paper.learningRate * paper.learningRateDecay)
        XCTAssertEqual(paper.zStarMode, .redrawn)
        XCTAssertNotNil(TrainingConfig.preset(named: "quick"))
        XCTAssertNil(TrainingConfig.preset(named: "slow"))
        try TrainingConfig.quick.validate()

        var bad = TrainingConfig.paper
        bad.scaleFactor = 1.5
        XCTAssertThrowsError(try bad.validate()) { XCTAssertTrue("\($0)".contains("scale-factor"), "\($0)") }
        bad = .paper
        bad.maxSize = 10
        XCTAssertThrowsError(try bad.validate()) { XCTAssertTrue("\($0)".contains("max-size"), "\($0)") }
    }

    func testConfigRoundTripsThroughJSON() throws {
        var c = TrainingConfig.quick
        c.seed = 12345678901234
        c.zStarMode = .fixed
        c.learningRate = 3e-4
        let back = try JSONDecoder().decode(TrainingConfig.self, from: JSONEncoder().encode(c))
        XCTAssertEqual(back, c)
    }
}
