import XCTest
@testable import Vips

final class PlanarTests: XCTestCase {
    func testEveryByteValueRoundTripsExactly() throws {
        // 256 pixels in one row, 3 channels holding v, 255 - v and v / 2.
        let values = (0..<256).map { UInt8($0) }
        let planes = [values, values.map { 255 - $0 }, values.map { $0 / 2 }]
        let floats = planes.flatMap { $0.map { (Float($0) / 255 - 0.5) * 2 } }
        let image = try VipsImage.fromPlanarFloats(floats, width: 256, height: 1, channels: 3)
        let bytes = try image.interleavedBytes()
        for i in 0..<256 {
            XCTAssertEqual(Array(bytes[i * 3..<i * 3 + 3]), [planes[0][i], planes[1][i], planes[2][i]])
        }
        XCTAssertEqual(try image.planarFloats(), floats)
    }

    func testLayoutIsChannelMajorAndRangeIsUnit() throws {
        let image = try VipsImage.load(path: fixture("small.png"))
        let floats = try image.planarFloats()
        let bytes = try image.interleavedBytes()
        let plane = image.width * image.height
        XCTAssertEqual(floats.count, 3 * plane)
        XCTAssertTrue(floats.allSatisfy { $0 >= -1 && $0 <= 1 })
        // Pixel (x 5, y 7), green channel.
        let pixel = 7 * image.width + 5
        XCTAssertEqual(floats[1 * plane + pixel], (Float(bytes[pixel * 3 + 1]) / 255 - 0.5) * 2)

        let back = try VipsImage.fromPlanarFloats(floats, width: image.width, height: image.height, channels: 3)
        XCTAssertEqual(try back.interleavedBytes(), bytes)
    }

    func testOutOfRangeValuesAreClamped() throws {
        let image = try VipsImage.fromPlanarFloats([-3, 7, .nan], width: 3, height: 1, channels: 1)
        XCTAssertEqual(try image.interleavedBytes(), [0, 255, 0])
    }

    func testShapeMismatchIsAnError() {
        XCTAssertThrowsError(try VipsImage.fromPlanarFloats([0, 0, 0], width: 2, height: 1, channels: 3))
        XCTAssertThrowsError(try resizePlanar([0], channels: 1, height: 1, width: 1, toHeight: 0, toWidth: 2))
    }

    func testPlanarFloatsNeedEightBits() throws {
        XCTAssertThrowsError(try VipsImage.load(path: fixture("rgb16.png")).planarFloats())
    }
}
