import XCTest

final class PyramidModelTestsSmoke: XCTestCase {
    func testBuilds() { XCTAssertTrue(true) }
}
