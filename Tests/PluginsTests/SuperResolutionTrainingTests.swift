import Engine
import Foundation
import Plugins
import SinGAN
import XCTest

/// Super-resolution from the low-resolution image alone: the plugin trains its own model.
final class SuperResolutionTrainingTests: XCTestCase {
    typealias T = PluginTestSupport

    func testTrainsItsOwnModelAndUpscales() throws {
        let config = SuperResolution.config(from: .quick, factor: 4)
        XCTAssertEqual(config.reconstructionWeight, 100)
        XCTAssertEqual(config.minSize, 18)
        XCTAssertEqual(config.scaleFactor, pow(2, -1.0 / 3), accuracy: 1e-12)
        let out = try T.run(SuperResolutionPlugin.self, image: T.resource("33039_LR.png"), [
            "factor": .double(2.5), "preset": .string("quick"), "iterations": .int(3), "seed": .int(0)])
        XCTAssertEqual(try T.size(out[0].url), [68, 100])  // round(2.5 x 27), 2.5 x 40
    }
}
