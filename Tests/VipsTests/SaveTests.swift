import Foundation
import XCTest
@testable import Vips

final class SaveTests: XCTestCase {
    private func roundTrip(_ name: String, quality: Int = 90) throws -> (original: [UInt8], reloaded: VipsImage, folder: String) {
        let folder = try temporaryFolder(self)
        let image = try VipsImage.load(path: fixture("small.png"))
        let path = folder + "/" + name
        try image.save(to: path, quality: quality)
        return (try image.interleavedBytes(), try VipsImage.load(path: path), folder)
    }

    func testPNGAndTIFFRoundTripExactly() throws {
        for name in ["out.png", "out.tif"] {
            let (original, reloaded, folder) = try roundTrip(name)
            XCTAssertEqual(try reloaded.interleavedBytes(), original, name)
            XCTAssertEqual(try folderContents(folder), [name], "no temporary file left")
        }
    }

    func testJPEGRoundTripsWithinTolerance() throws {
        let (original, reloaded, _) = try roundTrip("out.JPG", quality: 95)
        XCTAssertEqual(reloaded.formatName, "jpeg")
        XCTAssertLessThan(meanAbsoluteDifference(try reloaded.interleavedBytes(), original), 3)
    }

    func testWebPRoundTripsWithinTolerance() throws {
        let (original, reloaded, _) = try roundTrip("out.webp", quality: 95)
        XCTAssertEqual(reloaded.formatName, "webp")
        XCTAssertEqual(reloaded.bands, 3)
        XCTAssertLessThan(meanAbsoluteDifference(try reloaded.interleavedBytes(), original), 4)
    }

    func testQualityChangesJPEGSize() throws {
        let image = try VipsImage.load(path: fixture("small.png"))
        XCTAssertLessThan(try image.encoded(as: .jpeg, quality: 20).count,
                          try image.encoded(as: .jpeg, quality: 98).count)
    }

    func testSaveReplacesAnExistingFile() throws {
        let folder = try temporaryFolder(self)
        let path = folder + "/image.png"
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        let image = try VipsImage.load(path: fixture("gray.png"))
        try image.save(to: path)
        XCTAssertEqual(try VipsImage.load(path: path).bands, 1)
        XCTAssertEqual(try folderContents(folder), ["image.png"])
    }

    func testOutputFormatFollowsTheExtension() {
        XCTAssertEqual(OutputFormat(path: "a/b.PNG"), .png)
        XCTAssertEqual(OutputFormat(path: "x.jpeg"), .jpeg)
        XCTAssertEqual(OutputFormat(path: "x.tiff"), .tiff)
        XCTAssertNil(OutputFormat(path: "x.png.tmp"))
        XCTAssertNil(OutputFormat(path: "noextension"))
    }
}
