import XCTest
@testable import Vips

final class NormalizeTests: XCTestCase {
    /// One pixel per entry; `planes[c][i]` is band c of pixel i, given as 8-bit values.
    private func image(_ planes: [[UInt8]], width: Int, height: Int) throws -> VipsImage {
        let floats = planes.flatMap { $0.map { (Float($0) / 255 - 0.5) * 2 } }
        return try VipsImage.fromPlanarFloats(floats, width: width, height: height, channels: planes.count)
    }

    func testAlphaIsFlattenedOntoWhite() throws {
        // Pixels: opaque red, transparent red, half-transparent black.
        let rgba = try image([[255, 255, 0], [0, 0, 0], [0, 0, 0], [255, 0, 128]], width: 3, height: 1)
        let flat = try rgba.normalizedSRGB()
        XCTAssertEqual(flat.bands, 3)
        let bytes = try flat.interleavedBytes()
        XCTAssertEqual(Array(bytes[0..<6]), [255, 0, 0, 255, 255, 255])
        for value in bytes[6..<9] { XCTAssertEqual(Int(value), 127, accuracy: 1) }
    }

    func testGreyBecomesThreeIdenticalBands() throws {
        let grey = try image([[0, 77, 255]], width: 3, height: 1).normalizedSRGB()
        XCTAssertEqual(grey.bands, 3)
        XCTAssertEqual(try grey.interleavedBytes(), [0, 0, 0, 77, 77, 77, 255, 255, 255])

        let file = try VipsImage.load(path: fixture("gray.png"))
        XCTAssertEqual(file.bands, 1)
        let expanded = try file.normalizedSRGB()
        XCTAssertEqual(expanded.bands, 3)
        let source = try file.interleavedBytes()
        XCTAssertEqual(try expanded.interleavedBytes(), source.flatMap { [$0, $0, $0] })
    }

    func testGreyWithAlphaIsFlattenedThenExpanded() throws {
        let greyAlpha = try image([[10, 10], [255, 0]], width: 2, height: 1).normalizedSRGB()
        XCTAssertEqual(try greyAlpha.interleavedBytes(), [10, 10, 10, 255, 255, 255])
    }

    func testSixteenBitBecomesEightBit() throws {
        let eight = try VipsImage.load(path: fixture("small.png")).interleavedBytes()
        let sixteen = try VipsImage.load(path: fixture("rgb16.png")).normalizedSRGB()
        XCTAssertEqual(sixteen.pixelFormat, .uchar)
        XCTAssertEqual(sixteen.bands, 3)
        XCTAssertLessThanOrEqual(meanAbsoluteDifference(try sixteen.interleavedBytes(), eight), 0.5)

        // 16-bit alpha must be scaled with the colours, not clipped.
        let flat8 = try VipsImage.load(path: fixture("rgba.png")).normalizedSRGB().interleavedBytes()
        let flat16 = try VipsImage.load(path: fixture("rgba16.png")).normalizedSRGB().interleavedBytes()
        XCTAssertLessThanOrEqual(meanAbsoluteDifference(flat16, flat8), 1)
    }

    func testCMYKBecomesSRGB() throws {
        let reference = try VipsImage.load(path: fixture("small.png")).interleavedBytes()
        for name in ["cmyk.jpg", "cmyk.tif"] {
            let cmyk = try VipsImage.load(path: fixture(name))
            XCTAssertEqual(cmyk.bands, 4, name)
            let rgb = try cmyk.normalizedSRGB()
            XCTAssertEqual(rgb.bands, 3, name)
            XCTAssertEqual(rgb.pixelFormat, .uchar, name)
            // CMYK is a lossy, gamut-limited detour: close, not equal.
            XCTAssertLessThan(meanAbsoluteDifference(try rgb.interleavedBytes(), reference), 12, name)
        }
    }

    func testRGBIsUnchanged() throws {
        let image = try VipsImage.load(path: fixture("small.png"))
        XCTAssertEqual(try image.normalizedSRGB().interleavedBytes(), try image.interleavedBytes())
    }
}
