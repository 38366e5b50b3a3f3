import Plugins
import XCTest

final class ParameterSchemaTests: XCTestCase {
    let schema = ParameterSchema([
        .int("scale", default: 3, range: 0...8, "scale to start at"),
        .double("alpha", default: 0.1, range: 0...1, "mix"),
        .bool("quantize", default: false, "quantize colours"),
        .choice("mode", ["fast", "slow"], default: "fast", "speed"),
        .string("label", "an optional label"),
        .int("seed", required: true, "random seed"),
    ])

    func testDefaultsFillInAndIntegersWidenToDoubles() throws {
        let values = try schema.validate(["seed": .int(7), "alpha": .int(1)])
        XCTAssertEqual(values.int("scale"), 3)
        XCTAssertEqual(values.double("alpha"), 1.0)
        XCTAssertEqual(values["alpha"], .double(1))
        XCTAssertFalse(values.bool("quantize"))
        XCTAssertEqual(values.string("mode"), "fast")
        XCTAssertNil(values.optionalString("label"))
        XCTAssertEqual(values.int("seed"), 7)
    }

    func testErrorsNameTheParameter() {
        func message(_ given: [String: ParameterValue]) -> String {
            do { _ = try schema.validate(given); return "accepted" } catch { return "\(error)" }
        }
        XCTAssertEqual(message([:]), "missing required parameter 'seed'")
        XCTAssertEqual(message(["seed": .int(1), "scale": .int(9)]), "parameter 'scale' must be in 0...8, got 9")
        XCTAssertEqual(message(["seed": .int(1), "alpha": .double(-0.5)]), "parameter 'alpha' must be in 0.0...1.0, got -0.5")
        XCTAssertEqual(message(["seed": .string("x")]), "parameter 'seed' must be a integer, got \"x\"")
        XCTAssertEqual(message(["seed": .int(1), "scale": .double(2.5)]), "parameter 'scale' must be a integer, got 2.5")
        XCTAssertEqual(message(["seed": .int(1), "mode": .string("medium")]),
                       "parameter 'mode' must be one of fast, slow, got \"medium\"")
        XCTAssertTrue(message(["seed": .int(1), "sclae": .int(2)]).hasPrefix("unknown parameter 'sclae' (known: scale, alpha"))
    }

    func testUsageLineShowsTypeRangeDefaultAndDescription() {
        XCTAssertEqual(schema["scale"]?.usage, "scale: integer in 0...8, default 3 — scale to start at")
        XCTAssertEqual(schema["seed"]?.usage, "seed: integer, required — random seed")
        XCTAssertEqual(schema["label"]?.usage, "label: string, optional — an optional label")
    }

    func testCanonicalFormIsStable() throws {
        let a = try schema.validate(["seed": .int(1), "scale": .int(2)])
        let b = try schema.validate(["scale": .int(2), "seed": .int(1)])
        XCTAssertEqual(a.canonical, b.canonical)
        XCTAssertNotEqual(a.canonical, try schema.validate(["seed": .int(2)]).canonical)
    }
}
