import Foundation
import XCTest
@testable import Vips

final class ErrorTests: XCTestCase {
    func testMissingFile() throws {
        let path = try temporaryFolder(self) + "/absent.png"
        assertThrows(.fileNotFound(path: path)) { try VipsImage.load(path: path) }
        XCTAssertEqual(VipsError.fileNotFound(path: path).description, "\(path): no such file")
    }

    func testEmptyFile() throws {
        let path = try temporaryFolder(self) + "/empty.png"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data()))
        assertThrows(.emptyFile(path: path)) { try VipsImage.load(path: path) }
        assertThrows(.emptyFile(path: "bytes")) { try VipsImage.load(data: Data(), name: "bytes") }
    }

    func testTruncatedFile() throws {
        let full = try Data(contentsOf: URL(fileURLWithPath: fixture("small.png")))
        let path = try temporaryFolder(self) + "/truncated.png"
        try full.prefix(full.count / 2).write(to: URL(fileURLWithPath: path))
        try expectCorrupt(path) { try VipsImage.load(path: path) }
        try expectCorrupt("cut") { try VipsImage.load(data: full.prefix(full.count / 2), name: "cut") }
    }

    func testAPNGWithoutItsPixelDataIsRefused() throws {
        // libpng only warns ("Not enough image data") and libvips decoded such a file to black
        // with a warning ("error in tile 0 x 0"): the command line printed its size and exited 0.
        let folder = try temporaryFolder(self)
        for hasData in [true, false] {
            let bytes = pngHeader(width: 1_000_000, height: 1, idat: hasData)
            let path = folder + "/wide-\(hasData ? "cut" : "no")-idat.png"
            try bytes.write(to: URL(fileURLWithPath: path))
            if hasData {  // without any IDAT the header is refused already ("IEND: out of place")
                XCTAssertEqual(try VipsImage.headerSize(path: path).width, 1_000_000, "the header alone is fine")
            }
            try expectCorrupt(path) { try VipsImage.load(path: path) }
            try expectCorrupt("bytes") { try VipsImage.load(data: bytes, name: "bytes") }
        }
        // The check does not refuse a good file of the same shape.
        let good = folder + "/wide.png"
        try VipsImage.fromPlanarFloats([Float](repeating: 0.5, count: 3 * 1_000_000), width: 1_000_000, height: 1, channels: 3)
            .save(to: good)
        XCTAssertEqual(try VipsImage.load(path: good).width, 1_000_000)
    }

    func testCorruptData() throws {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: fixture("small.jpg")))
        // Keep the JPEG header, scramble the entropy-coded data after it.
        for i in 200..<(bytes.count - 2) { bytes[i] = UInt8(truncatingIfNeeded: i &* 37) }
        let path = try temporaryFolder(self) + "/corrupt.jpg"
        try bytes.write(to: URL(fileURLWithPath: path))
        try expectCorrupt(path) { try VipsImage.load(path: path) }
    }

    func testUnsupportedFormat() throws {
        let folder = try temporaryFolder(self)
        let text = folder + "/notes.png"
        try Data("just some text, not pixels\n".utf8).write(to: URL(fileURLWithPath: text))
        XCTAssertThrowsError(try VipsImage.load(path: text)) { error in
            guard case .unsupportedFormat(let path, _) = error as? VipsError else {
                return XCTFail("expected unsupportedFormat, got \(error)")
            }
            XCTAssertEqual(path, text)
            XCTAssertTrue("\(error)".hasPrefix(text + ": unsupported image format"), "\(error)")
        }
        // A format libvips reads but this project does not accept: portable greymap.
        let portable = folder + "/image.pgm"
        try Data("P2\n2 1\n255\n0 255\n".utf8).write(to: URL(fileURLWithPath: portable))
        XCTAssertThrowsError(try VipsImage.load(path: portable)) { error in
            guard case .unsupportedFormat(_, let detail) = error as? VipsError else {
                return XCTFail("expected unsupportedFormat, got \(error)")
            }
            XCTAssertTrue(detail.contains("ppmload"), detail)
        }
    }

    func testZeroSizedImage() throws {
        let folder = try temporaryFolder(self)
        for (width, height) in [(0, 4), (4, 0)] as [(UInt32, UInt32)] {
            let path = folder + "/zero-\(width)x\(height).png"
            try pngHeader(width: width, height: height).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try VipsImage.load(path: path)) { error in
                guard case .zeroSized(let named, let reason) = error as? VipsError else {
                    return XCTFail("expected zeroSized, got \(error)")
                }
                XCTAssertEqual(named, path)
                XCTAssertTrue(reason.contains("zero"), reason)
            }
        }
    }

    func testPixelLimitIsCheckedFromTheHeader() throws {
        // The header claims 10000x6000 and no pixel data follows: refusing it
        // for its size (not as truncated) shows nothing was decoded.
        let path = try temporaryFolder(self) + "/huge.png"
        try pngHeader(width: 10_000, height: 6_000).write(to: URL(fileURLWithPath: path))
        assertThrows(.tooManyPixels(path: path, width: 10_000, height: 6_000, limit: 50_000_000)) {
            try VipsImage.load(path: path)
        }
        assertThrows(.tooManyPixels(path: fixture("small.png"), width: 31, height: 23, limit: 700)) {
            try VipsImage.load(path: fixture("small.png"), maxPixels: 700)
        }
        XCTAssertNoThrow(try VipsImage.load(path: fixture("small.png"), maxPixels: 713))
    }

    func testFailedSavesLeaveNothingBehind() throws {
        let folder = try temporaryFolder(self)
        let image = try VipsImage.load(path: fixture("small.png"))
        assertThrows(.unsupportedOutputFormat(path: folder + "/out.bmp")) { try image.save(to: folder + "/out.bmp") }
        XCTAssertThrowsError(try image.save(to: folder + "/missing/out.png"))
        // Renaming onto an existing folder fails after the bytes were written:
        // the temporary file must be gone too.
        try FileManager.default.createDirectory(atPath: folder + "/taken.png", withIntermediateDirectories: false)
        XCTAssertThrowsError(try image.save(to: folder + "/taken.png")) { error in
            guard case .writeFailed(let path, _) = error as? VipsError else {
                return XCTFail("expected writeFailed, got \(error)")
            }
            XCTAssertEqual(path, folder + "/taken.png")
        }
        XCTAssertEqual(try folderContents(folder), ["taken.png"])
        XCTAssertThrowsError(try image.save(to: folder + "/bad-quality.jpg", quality: 0))
        XCTAssertEqual(try folderContents(folder), ["taken.png"])
    }

    private func expectCorrupt(_ path: String, _ body: () throws -> VipsImage,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard case .corrupt(let named, let reason) = error as? VipsError else {
                return XCTFail("expected corrupt, got \(error)", file: file, line: line)
            }
            XCTAssertEqual(named, path, file: file, line: line)
            XCTAssertFalse(reason.isEmpty, file: file, line: line)
            XCTAssertFalse("\(error)".contains("\n"), "one line: \(error)", file: file, line: line)
        }
    }
}
