import Foundation
import XCTest
import Vips

final class ConcurrentLoadTests: XCTestCase {
    /// libvips reports a PNG's missing pixel data only as a process-wide warning, counted by
    /// `cvips_decode` while it copies pixels. The daemon's workers load images at the same time:
    /// a corrupt file decoding in one must never make a valid file fail in another (loads hold
    /// one lock from header to last pixel). Without that lock this test fails within a few
    /// rounds here: the corrupt file's "error in tile" lands during the valid file's copy.
    func testACorruptLoadNeverFailsAValidLoadBesideIt() throws {
        let folder = try temporaryFolder(self)
        let corrupt = folder + "/cut.png", valid = folder + "/wide.png"
        try pngHeader(width: 200_000, height: 1).write(to: URL(fileURLWithPath: corrupt))
        try VipsImage.fromPlanarFloats([Float](repeating: 0.5, count: 3 * 200_000), width: 200_000, height: 1, channels: 3)
            .save(to: valid)

        let rounds = 40
        let failures = Failures()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            for _ in 0..<rounds {
                if (try? VipsImage.load(path: corrupt)) != nil { failures.add("the corrupt file loaded") }
            }
        }
        DispatchQueue.global().async(group: group) {
            for _ in 0..<rounds {
                do { _ = try VipsImage.load(path: valid) } catch { failures.add("\(error)") }
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 120), .success)
        XCTAssertEqual(failures.all, [])
    }
}

/// Messages collected from several threads.
private final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    func add(_ message: String) { lock.withLock { messages.append(message) } }
    var all: [String] { lock.withLock { messages } }
}
