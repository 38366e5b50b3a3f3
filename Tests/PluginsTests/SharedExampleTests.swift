import Engine
import Foundation
import Plugins
import SinGAN
import XCTest

/// The authors' editing example (stone.png with stone_edit.png and its mask) on a tiny model.
final class EditingExampleTests: XCTestCase {
    typealias T = PluginTestSupport

    func testStoneEdit() throws {
        let model = try T.trainTinyModel(T.resource("stone.png"))
        let out = try T.run(EditPlugin.self, model: model,
                            side: ["reference": T.resource("stone_edit.png"), "mask": T.resource("stone_edit_mask.png")],
                            ["scale": .int(1), "seed": .int(0)])
        XCTAssertEqual(out.map(\.label), ["masked", "unmasked"])
        for a in out { XCTAssertEqual(try T.size(a.url), [48, 33]) }
    }
}

/// The authors' paint-to-image example (cows.png with the paint cows.png) on a tiny model.
final class PaintExampleTests: XCTestCase {
    typealias T = PluginTestSupport

    func testCowsPaint() throws {
        let model = try T.trainTinyModel(T.resource("cows.png"))
        for quantize in [false, true] {
            let out = try T.run(PaintPlugin.self, image: T.resource("cows_paint.png"), model: model,
                                ["scale": .int(1), "quantize": .bool(quantize), "iterations": .int(3), "seed": .int(0)])
            XCTAssertEqual(try T.size(out[0].url), [48, 27])
        }
    }
}
