import XCTest

final class DaemonTestsSmoke: XCTestCase {
    func testBuilds() { XCTAssertTrue(true) }
}
