import XCTest
import SeededRandom
@testable import Vips

final class ResizeTests: XCTestCase {
    /// 50 random (size, factor) pairs: both resizers give exactly the pyramid's
    /// `ceil(size * factor)` on each axis, shrinking and enlarging.
    func testExactSizesMatchThePyramidFormula() throws {
        var random = SplitMix64(seed: 2019)
        for _ in 0..<50 {
            let width = Int.random(in: 1...300, using: &random)
            let height = Int.random(in: 1...300, using: &random)
            let factor = Double.random(in: 0.08...1.6, using: &random)
            let toWidth = pyramidSize(width, factor: factor), toHeight = pyramidSize(height, factor: factor)
            let label = "\(width)x\(height) by \(factor)"

            let planar = (0..<(3 * width * height)).map { _ in Float.random(in: -1...1, using: &random) }
            let image = try VipsImage.fromPlanarFloats(planar, width: width, height: height, channels: 3)
            let resized = try image.resized(by: factor)
            XCTAssertEqual(resized.width, toWidth, label)
            XCTAssertEqual(resized.height, toHeight, label)

            let floats = try resizePlanar(planar, channels: 3, height: height, width: width,
                                          toHeight: toHeight, toWidth: toWidth)
            XCTAssertEqual(floats.count, 3 * toWidth * toHeight, label)
        }
    }

    func testPyramidSizeIsCeilingOfTheProduct() {
        XCTAssertEqual(pyramidSize(248, factor: 0.75), 186)
        XCTAssertEqual(pyramidSize(186, factor: 0.5), 93)
        XCTAssertEqual(pyramidSize(100, factor: 0.251), 26)
        // SinGAN's coarsest balloons scale: 186 x 248 times r^8, r = 0.77813 -> 25 x 34.
        let r = pow(25.0 / 186.0, 1.0 / 8.0)
        XCTAssertEqual(pyramidSize(186, factor: pow(r, 8)), 25)
        XCTAssertEqual(pyramidSize(248, factor: pow(r, 8)), 34)
    }

    func testFloatResizeKeepsPrecisionAndConstants() throws {
        // A constant, not representable in 8 bits, survives shrinking and enlarging.
        let value: Float = 0.123456
        let data = [Float](repeating: value, count: 2 * 17 * 13)
        for (h, w) in [(5, 7), (40, 29), (13, 17)] {
            let out = try resizePlanar(data, channels: 2, height: 17, width: 13, toHeight: h, toWidth: w)
            XCTAssertEqual(out.count, 2 * h * w)
            for v in out { XCTAssertEqual(v, value, accuracy: 1e-5) }
        }
    }

    func testFloatResizeKeepsChannelsApart() throws {
        // Channel 0 is -1 everywhere, channel 1 is +1, channel 2 a left-right ramp.
        let (h, w) = (12, 20)
        var data = [Float](repeating: -1, count: h * w) + [Float](repeating: 1, count: h * w)
        for _ in 0..<h { data += (0..<w).map { Float($0) / Float(w - 1) } }
        let out = try resizePlanar(data, channels: 3, height: h, width: w, toHeight: 9, toWidth: 15)
        let plane = 9 * 15
        for v in out[0..<plane] { XCTAssertEqual(v, -1, accuracy: 1e-5) }
        for v in out[plane..<2 * plane] { XCTAssertEqual(v, 1, accuracy: 1e-5) }
        let ramp = Array(out[2 * plane..<2 * plane + 15])
        XCTAssertLessThan(ramp.first!, 0.1)
        XCTAssertGreaterThan(ramp.last!, 0.9)
        XCTAssertEqual(ramp, ramp.sorted(), "a ramp stays monotonic")
    }

    func testShrinkingIsAntialiased() throws {
        // A one-pixel checkerboard of -1/+1: point sampling would keep the
        // extremes, an antialiased half-size shrink averages them towards 0.
        let (h, w) = (32, 32)
        let board = (0..<(h * w)).map { Float(($0 / w + $0 % w) % 2 == 0 ? 1 : -1) }
        let out = try resizePlanar(board, channels: 1, height: h, width: w, toHeight: 16, toWidth: 16)
        let interior = (2..<14).flatMap { y in (2..<14).map { x in out[y * 16 + x] } }
        for v in interior { XCTAssertEqual(v, 0, accuracy: 0.05) }
    }

    func testFloatAndByteResizeAgree() throws {
        let image = try VipsImage.load(path: fixture("small.png"))
        let bytes = try image.resized(width: 50, height: 17).planarFloats()
        let floats = try resizePlanar(try image.planarFloats(), channels: 3, height: 23, width: 31,
                                      toHeight: 17, toWidth: 50)
        // libvips resamples 8-bit images in fixed point: a few levels apart at most.
        let worst = zip(floats, bytes).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(worst, 3 / 127.5)
    }

    func testInvalidSizesAreErrors() throws {
        let image = try VipsImage.load(path: fixture("small.png"))
        XCTAssertThrowsError(try image.resized(width: 0, height: 3))
        XCTAssertThrowsError(try image.resized(by: -1))
        XCTAssertThrowsError(try image.resized(by: .nan))
    }
}
