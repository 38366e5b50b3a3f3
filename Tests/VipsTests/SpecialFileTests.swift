import Foundation
import XCTest
@testable import Vips

/// Loads read regular files only, within a byte limit, without waiting on anything.
final class SpecialFileTests: XCTestCase {
    func testFIFOsDevicesAndLinksToThemAreRefusedAtOnce() throws {
        let folder = try temporaryFolder(self)
        let fifo = folder + "/pipe.png"
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        let zero = folder + "/zero.png"
        try FileManager.default.createSymbolicLink(atPath: zero, withDestinationPath: "/dev/zero")
        let linkedFIFO = folder + "/linked-pipe.png"
        try FileManager.default.createSymbolicLink(atPath: linkedFIFO, withDestinationPath: fifo)
        let started = Date()
        assertThrows(.notRegularFile(path: fifo, kind: "a FIFO (named pipe)")) { try VipsImage.load(path: fifo) }
        assertThrows(.notRegularFile(path: zero, kind: "a character device")) { try VipsImage.load(path: zero) }
        assertThrows(.notRegularFile(path: linkedFIFO, kind: "a FIFO (named pipe)")) { try VipsImage.load(path: linkedFIFO) }
        XCTAssertLessThan(Date().timeIntervalSince(started), 2)
        XCTAssertEqual("\(VipsError.notRegularFile(path: zero, kind: "a character device"))",
                       "\(zero): a character device, not a regular file; only regular files are read")
    }

    func testLinksAreFollowedOnlyWhenAsked() throws {
        let folder = try temporaryFolder(self)
        let link = folder + "/link.png"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: fixture("small.png"))
        XCTAssertNoThrow(try VipsImage.load(path: link))
        assertThrows(.notRegularFile(path: link, kind: "a symbolic link")) { try VipsImage.load(path: link, followLinks: false) }
    }

    func testAFileOverTheByteLimitIsRefusedBeforeReading() throws {
        // 10 GB, sparse: takes no space, but reading it through would take most of a minute.
        let path = try temporaryFolder(self) + "/huge.png"
        let png = try Data(contentsOf: URL(fileURLWithPath: fixture("small.png")))
        try png.write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(truncate(path, 10_000_000_000), 0)
        let started = Date()
        assertThrows(.tooLarge(path: path, bytes: 10_000_000_000, limit: VipsImage.maxBytes(forPixels: VipsImage.defaultMaxPixels))) {
            try VipsImage.load(path: path)
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 1)
        XCTAssertEqual(VipsImage.maxBytes(forPixels: 50_000_000), 516_777_216)
    }
}
