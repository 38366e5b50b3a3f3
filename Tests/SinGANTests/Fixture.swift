import Engine
import Foundation
import XCTest

/// The PyTorch oracle of one SinGAN training step (Resources/singan_step.json, written by
/// tools/make_step_fixture.py).
struct StepFixture {
    let root: [String: Any]

    init() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "singan_step", withExtension: "json",
                                                  subdirectory: "Resources"))
        root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    func config(_ key: String) -> Float { Float((root["config"] as! [String: Any])[key] as! Double) }
    func result(_ key: String) -> Float { Float((root["results"] as! [String: Any])[key] as! Double) }

    /// The tensor `name` of `section` ("inputs", "weights_before", "grads", ...).
    func tensor(_ section: String, _ name: String) -> Tensor {
        let entries = root[section] as! [String: Any]
        return Self.decode(entries[name] as! [String: Any])
    }

    func resultTensor(_ key: String) -> Tensor {
        Self.decode((root["results"] as! [String: Any])[key] as! [String: Any])
    }

    func names(_ section: String) -> [String] { Array((root[section] as! [String: Any]).keys) }

    static func decode(_ entry: [String: Any]) -> Tensor {
        let shape = (entry["shape"] as! [Any]).map { ($0 as! NSNumber).intValue }
        let data = (entry["data"] as! [Any]).map { ($0 as! NSNumber).floatValue }
        return Tensor(shape: shape, scalars: data)
    }
}
