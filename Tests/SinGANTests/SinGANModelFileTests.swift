import Engine
import Foundation
import SinGAN
import XCTest

/// The safetensors layer and the validation of model files.
final class SinGANModelFileTests: XCTestCase {
    func testSafeTensorsLayout() throws {
        var file = SafeTensorsFile()
        file.tensors = [("b", SafeTensor(shape: [2, 2], floats: [1, 2, 3, 4])), ("a", SafeTensor(uint64s: [7]))]
        file.metadata = ["k": "v \"quoted\"\n"]
        let bytes = file.serialized()
        let headerLength = Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        XCTAssertEqual((8 + headerLength) % 8, 0, "data starts 8-aligned")
        XCTAssertEqual(bytes.count, 8 + headerLength + 16 + 8)
        let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + headerLength)])) as! [String: Any]
        let b = header["b"] as! [String: Any]
        XCTAssertEqual(b["dtype"] as? String, "F32")
        XCTAssertEqual(b["shape"] as? [Int], [2, 2])
        XCTAssertEqual(b["data_offsets"] as? [Int], [0, 16])
        XCTAssertEqual((header["__metadata__"] as! [String: String])["k"], "v \"quoted\"\n")
        XCTAssertEqual(Array(bytes[(8 + headerLength)..<(8 + headerLength + 4)]), [0, 0, 0x80, 0x3f], "1.0f little-endian")

        let back = try SafeTensorsFile.parse(bytes, path: "x")
        XCTAssertEqual(back["b"]?.floats, [1, 2, 3, 4])
        XCTAssertEqual(back["a"]?.uint64s, [7])
        XCTAssertEqual(back.metadata["k"], "v \"quoted\"\n")
        XCTAssertEqual(back.serialized(), bytes)
    }

    private func problem(_ bytes: [UInt8]) -> (ModelFileProblem, String)? {
        let path = TinySinGAN.temporaryPath("bad.singan")
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        do {
            _ = try SinGANModel.load(from: path)
            return nil
        } catch SinGANError.modelFile(let p, let kind, let reason) {
            XCTAssertEqual(p, path)
            return (kind, reason)
        } catch {
            XCTFail("unexpected error \(error)")
            return nil
        }
    }

    func testDamagedFilesAreReportedByNameAndReason() throws {
        let run = try TinySinGAN.straight.get()
        let good = [UInt8](try Data(contentsOf: URL(fileURLWithPath: run.modelPath)))

        XCTAssertEqual(problem(Array(good.prefix(good.count - 100)))?.0, .truncated)
        XCTAssertEqual(problem(Array(good.prefix(5)))?.0, .truncated)
        XCTAssertEqual(problem([])?.0, .truncated)

        var flipped = good
        flipped[good.count - 7] ^= 0x10
        let checksum = problem(flipped)
        XCTAssertEqual(checksum?.0, .corrupt)
        XCTAssertTrue(checksum?.1.contains("checksum") ?? false, "\(String(describing: checksum))")

        var header = good
        header[9] = UInt8(ascii: "#")
        XCTAssertEqual(problem(header)?.0, .corrupt)

        XCTAssertEqual(problem(Array("hello, I am not a model at all".utf8))?.0, .corrupt)

        // A valid safetensors file of something else.
        var other = SafeTensorsFile()
        other.tensors = [("weight", SafeTensor(shape: [1], floats: [0]))]
        let foreign = problem(other.serialized())
        XCTAssertEqual(foreign?.0, .incompatible)
        XCTAssertTrue(foreign?.1.contains("not a SinGAN model") ?? false)

        // A future format version.
        var file = try SafeTensorsFile.parse(good, path: "good")
        file.metadata["format_version"] = "99"
        let future = problem(file.serialized())
        XCTAssertEqual(future?.0, .incompatible)
        XCTAssertTrue(future?.1.contains("format version 99") ?? false)

        // A missing generator tensor.
        file = try SafeTensorsFile.parse(good, path: "good")
        file.tensors.removeAll { $0.name == "scale.2.generator.b1.conv.w" }
        let missing = problem(file.serialized())
        XCTAssertEqual(missing?.0, .incompatible)
        XCTAssertTrue(missing?.1.contains("scale.2.generator.b1.conv.w") ?? false)

        // Non-finite weights.
        file = try SafeTensorsFile.parse(good, path: "good")
        let i = file.tensors.firstIndex { $0.name == "noise_amplitudes" }!
        file.tensors[i].tensor = SafeTensor(shape: [4], floats: [1, .nan, 0.1, 0.1])
        XCTAssertEqual(problem(file.serialized())?.0, .corrupt)

        XCTAssertThrowsError(try SinGANModel.load(from: "/nonexistent/model.singan")) { error in
            XCTAssertTrue("\(error)".contains("no such file"), "\(error)")
        }
    }
}
