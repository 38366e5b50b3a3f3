import Engine
import XCTest

/// |actual - expected| ≤ tolerance · max(floor, max |expected|), element-wise.
public func assertClose(_ actual: Tensor, _ expected: Tensor, tolerance: Float, floor: Float = 1e-3, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.shape, expected.shape, "\(what): shape", file: file, line: line)
    guard actual.count == expected.count else { return }
    let scale = max(floor, expected.scalars.map(abs).max() ?? 0)
    var worst: Float = 0, at = 0
    for i in 0..<actual.count {
        let d = abs(actual.scalars[i] - expected.scalars[i])
        if d > worst { worst = d; at = i }
    }
    XCTAssertLessThanOrEqual(worst / scale, tolerance,
                             "\(what): element \(at) is \(actual.scalars[at]), expected \(expected.scalars[at]) (scale \(scale))",
                             file: file, line: line)
}
