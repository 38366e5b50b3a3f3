import Foundation
import XCTest
@testable import Vips

final class LoadTests: XCTestCase {
    func testLoadsEveryInputFormat() throws {
        let expected: [(file: String, format: String, bands: Int)] = [
            ("small.png", "png", 3), ("small.jpg", "jpeg", 3), ("small.webp", "webp", 3),
            ("small.tif", "tiff", 3), ("gray.png", "png", 1), ("rgba.png", "png", 4),
            ("rgb16.png", "png", 3), ("cmyk.jpg", "jpeg", 4), ("cmyk.tif", "tiff", 4),
        ]
        for item in expected {
            let image = try VipsImage.load(path: fixture(item.file))
            XCTAssertEqual(image.width, 31, item.file)
            XCTAssertEqual(image.height, 23, item.file)
            XCTAssertEqual(image.bands, item.bands, item.file)
            XCTAssertEqual(image.formatName, item.format, item.file)
        }
        XCTAssertEqual(try VipsImage.load(path: fixture("rgb16.png")).pixelFormat, .ushort)
        XCTAssertEqual(try VipsImage.load(path: fixture("small.png")).pixelFormat, .uchar)
    }

    func testLosslessFormatsDecodeToTheSamePixels() throws {
        let png = try VipsImage.load(path: fixture("small.png")).interleavedBytes()
        let tiff = try VipsImage.load(path: fixture("small.tif")).interleavedBytes()
        XCTAssertEqual(png, tiff)
        let jpeg = try VipsImage.load(path: fixture("small.jpg")).interleavedBytes()
        XCTAssertLessThan(meanAbsoluteDifference(png, jpeg), 10, "a JPEG at libvips' default quality 75")
    }

    func testGifLoadsTheFirstFrameAndCountsFrames() throws {
        // anim3.gif: 8x6, frames solid red, green, blue.
        let gif = try VipsImage.load(path: fixture("anim3.gif"))
        XCTAssertEqual(gif.width, 8)
        XCTAssertEqual(gif.height, 6)
        XCTAssertEqual(gif.pageCount, 3)
        XCTAssertEqual(gif.formatName, "gif")
        let rgb = try gif.normalizedSRGB().interleavedBytes()
        XCTAssertEqual(Array(rgb[0..<3]), [255, 0, 0])
        XCTAssertEqual(Set(stride(from: 0, to: rgb.count, by: 3).map { rgb[$0] }), [255])
    }

    func testLoadsFromMemory() throws {
        let path = fixture("small.webp")
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let fromMemory = try VipsImage.load(data: data)
        let fromFile = try VipsImage.load(path: path)
        XCTAssertEqual(fromMemory.formatName, "webp")
        XCTAssertEqual(try fromMemory.interleavedBytes(), try fromFile.interleavedBytes())
    }

    func testStillImagesHaveOnePage() throws {
        XCTAssertEqual(try VipsImage.load(path: fixture("small.png")).pageCount, 1)
    }
}
