import XCTest

final class PluginsTestsSmoke: XCTestCase {
    func testBuilds() { XCTAssertTrue(true) }
}
