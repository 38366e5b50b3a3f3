import XCTest
@testable import Vips

final class AnimationTests: XCTestCase {
    /// Four 12x8 frames, solid grey levels 0, 85, 170, 255.
    private func frames() throws -> [VipsImage] {
        try [0, 85, 170, 255].map { (level: Int) in
            let value = (Float(level) / 255 - 0.5) * 2
            return try VipsImage.fromPlanarFloats([Float](repeating: value, count: 3 * 12 * 8),
                                                  width: 12, height: 8, channels: 3)
        }
    }

    func testAnimatedGIFAndWebPReadBackWithEveryFrame() throws {
        let folder = try temporaryFolder(self)
        for name in ["walk.gif", "walk.webp"] {
            let path = folder + "/" + name
            try VipsImage.saveAnimation(frames: try frames(), fps: 10, to: path)
            let loaded = try VipsImage.load(path: path)
            XCTAssertEqual(loaded.pageCount, 4, name)
            XCTAssertEqual(loaded.width, 12, name)
            XCTAssertEqual(loaded.height, 8, name)
            let first = try loaded.normalizedSRGB().interleavedBytes()
            XCTAssertLessThanOrEqual(Int(first.max()!), 3, "first frame is black: \(name)")
        }
        XCTAssertEqual(try folderContents(folder), ["walk.gif", "walk.webp"])
    }

    func testAnimationErrors() throws {
        let folder = try temporaryFolder(self)
        let still = try VipsImage.load(path: fixture("small.png"))
        assertThrows(.unsupportedOutputFormat(path: folder + "/a.png")) {
            try VipsImage.saveAnimation(frames: try frames(), fps: 10, to: folder + "/a.png")
        }
        XCTAssertThrowsError(try VipsImage.saveAnimation(frames: [], fps: 10, to: folder + "/a.gif"))
        XCTAssertThrowsError(try VipsImage.saveAnimation(frames: try frames(), fps: 0, to: folder + "/a.gif"))
        XCTAssertThrowsError(try VipsImage.saveAnimation(frames: try frames() + [still], fps: 10, to: folder + "/a.gif"))
        XCTAssertEqual(try folderContents(folder), [])
    }
}
