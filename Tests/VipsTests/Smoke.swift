import XCTest

final class VipsTestsSmoke: XCTestCase {
    func testBuilds() { XCTAssertTrue(true) }
}
