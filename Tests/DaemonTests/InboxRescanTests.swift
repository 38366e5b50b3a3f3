@testable import Daemon
import Foundation
import XCTest

/// `InboxRescan` takes a file only once it looked the same at two successive listings.
final class InboxRescanTests: XCTestCase {
    func testAFileIsTakenOnceUnchangedBetweenTwoListings() throws {
        let inbox = FileManager.default.temporaryDirectory.appendingPathComponent("rescan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: inbox) }
        var rescan = InboxRescan()
        try Data("part".utf8).write(to: inbox.appendingPathComponent("a.png"))
        XCTAssertEqual(rescan.stable(in: inbox), [], "first seen")
        try Data("part, more".utf8).write(to: inbox.appendingPathComponent("a.png"))  // still being written
        try Data("b".utf8).write(to: inbox.appendingPathComponent("b.png"))
        XCTAssertEqual(rescan.stable(in: inbox), [], "a grew, b is new")
        XCTAssertEqual(rescan.stable(in: inbox), ["a.png", "b.png"])
        try FileManager.default.removeItem(at: inbox.appendingPathComponent("a.png"))
        XCTAssertEqual(rescan.stable(in: inbox), ["b.png"], "a is gone (accepted)")
        try Data("x".utf8).write(to: inbox.appendingPathComponent("a.png"))
        XCTAssertEqual(rescan.stable(in: inbox), ["b.png"], "a name seen again starts over")
    }
}
