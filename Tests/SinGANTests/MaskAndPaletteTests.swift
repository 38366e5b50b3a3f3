import Engine
import Foundation
import SinGAN
import XCTest

final class MaskAndPaletteTests: XCTestCase {
    func testDilationUsesADisk() {
        var mask = [Bool](repeating: false, count: 11 * 11)
        mask[5 * 11 + 5] = true
        let dilated = dilate(mask, width: 11, height: 11, radius: 3)
        // skimage.morphology.disk(3) has 29 pixels.
        XCTAssertEqual(dilated.filter { $0 }.count, 29)
        XCTAssertTrue(dilated[5 * 11 + 8] && dilated[2 * 11 + 5] && dilated[7 * 11 + 7])
        XCTAssertFalse(dilated[8 * 11 + 8])
    }

    func testBlurIsNormalisedAndExactlyZeroBeyondItsReach() {
        var values = [Float](repeating: 0, count: 60 * 60)
        values[30 * 60 + 30] = 1
        let blurred = gaussianBlur(values, width: 60, height: 60, sigma: 2)
        XCTAssertEqual(Double(blurred.reduce(0, +)), 1, accuracy: 1e-5)
        XCTAssertEqual(blurred[30 * 60 + 39], 0)  // 9 px away: beyond 4 sigma (8 px)
        XCTAssertGreaterThan(blurred[30 * 60 + 38], 0)
        XCTAssertGreaterThan(blurred[30 * 60 + 30], blurred[30 * 60 + 31])
    }

    func testBlendMaskIsNormalisedToTheUnitRange() {
        var binary = [Bool](repeating: false, count: 40 * 30)
        for y in 10..<14 { for x in 10..<14 { binary[y * 40 + x] = true } }
        let mask = BlendMask(binary: binary, width: 40, height: 30, radius: 2, sigma: 1)
        XCTAssertEqual(mask.weights.max(), 1)
        XCTAssertEqual(mask.weights.min(), 0)
        XCTAssertEqual(mask.weights[12 * 40 + 12], 1)
        XCTAssertEqual(mask.weights[29 * 40 + 39], 0)
        let blended = mask.blend(original: [Float](repeating: -1, count: 40 * 30), result: [Float](repeating: 1, count: 40 * 30), channels: 1)
        XCTAssertEqual(blended[12 * 40 + 12], 1)
        XCTAssertEqual(blended[0], -1)
    }

    func testKMeansFindsFiveDistinctColours() {
        let colors: [[Float]] = [[-1, -1, -1], [1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]
        let (h, w) = (10, 10)
        var scalars = [Float](repeating: 0, count: 3 * h * w)
        for i in 0..<(h * w) {
            let c = colors[(i * 7) % 5]
            for b in 0..<3 { scalars[b * h * w + i] = c[b] + Float(i % 3) * 0.01 }
        }
        let palette = Palette(kMeansOf: Tensor(shape: [1, 3, h, w], scalars: scalars), count: 5, seed: 3)
        XCTAssertEqual(palette.colors.count, 5)
        for c in colors {
            let nearest = palette.colors[palette.nearestIndex(c)]
            XCTAssertEqual(zip(nearest, c).map { abs($0 - $1) }.max()!, 0.01, accuracy: 0.011)
        }
        let quantized = palette.quantize(Tensor(shape: [1, 3, h, w], scalars: scalars))
        let plane = h * w
        for i in 0..<plane {
            XCTAssertTrue(palette.colors.contains([quantized.scalars[i], quantized.scalars[plane + i], quantized.scalars[2 * plane + i]]))
        }
    }
}
