import Foundation
import Plugins
import Vips
import XCTest

final class ResizePluginTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("resize-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("work"), withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func image(width: Int, height: Int) throws -> URL {
        let pixels = (0..<(3 * width * height)).map { Float($0 % 97) / 48.5 - 1 }
        let url = dir.appendingPathComponent("in.png")
        try VipsImage.fromPlanarFloats(pixels, width: width, height: height, channels: 3).save(to: url.path)
        return url
    }

    func run(_ params: [String: ParameterValue], input: URL, maxPixels: Int = 50_000_000) throws -> VipsImage {
        let context = TaskContext(workDirectory: dir.appendingPathComponent("work"), checkpointDirectory: dir, maxPixels: maxPixels)
        let request = TaskRequest(image: input, parameters: try ResizePlugin.parameters.validate(params))
        let out = try ResizePlugin().run(request, context: context)
        XCTAssertEqual(out.count, 1)
        XCTAssertEqual(out[0].kind, .image)
        return try VipsImage.load(path: out[0].url.path)
    }

    func testFactorAndMaxSide() throws {
        let input = try image(width: 40, height: 20)
        let half = try run(["factor": .double(0.5)], input: input)
        XCTAssertEqual([half.width, half.height], [20, 10])
        let fit = try run(["factor": .int(2), "max_side": .int(25)], input: input)
        XCTAssertEqual([fit.width, fit.height], [25, 13])
    }

    func testRefusesOversizeResults() throws {
        let input = try image(width: 40, height: 20)
        XCTAssertThrowsError(try run(["factor": .int(4)], input: input, maxPixels: 10_000)) {
            XCTAssertTrue("\($0)".contains("exceed the limit of 10000 pixels"), "\($0)")
        }
    }
}
