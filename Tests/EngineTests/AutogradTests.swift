import Engine
import XCTest

final class AutogradTests: XCTestCase {
    func testBackwardAccumulatesAndZeroGradClears() {
        let x = Tensor(shape: [3], scalars: [1, 2, 3], requiresGrad: true)
        sum(square(x)).backward()
        XCTAssertEqual(x.grad?.scalars, [2, 4, 6])
        sum(x * 3).backward()
        XCTAssertEqual(x.grad?.scalars, [5, 7, 9])
        x.zeroGrad()
        XCTAssertNil(x.grad)
    }

    func testDetachAndNoGradCutTheGraph() {
        let x = Tensor(shape: [2], scalars: [1, 2], requiresGrad: true)
        let y = square(x)
        XCTAssertTrue(y.requiresGrad)
        XCTAssertFalse(y.detached().requiresGrad)
        XCTAssertFalse(withNoGrad { square(x) }.requiresGrad)
        XCTAssertTrue(square(x).requiresGrad, "no-grad mode must end with its closure")
        // A detached branch contributes no gradient.
        let g = gradients(of: sum(y.detached() * x), with: [x])[0]
        XCTAssertEqual(g.scalars, [1, 4])
    }

    func testGradientOfUnrelatedInputIsZero() {
        let x = Tensor(shape: [2], scalars: [1, 2], requiresGrad: true)
        let z = Tensor(shape: [2], scalars: [5, 6], requiresGrad: true)
        XCTAssertEqual(gradients(of: sum(x), with: [z])[0].scalars, [0, 0])
    }

    func testSecondDerivativeOfCube() {
        // d/dx (d/dx x³) = 6x
        let x = Tensor(shape: [2], scalars: [1, -2], requiresGrad: true)
        let g = gradients(of: sum(x * x * x), with: [x], createGraph: true)[0]
        XCTAssertEqual(g.scalars, [3, 12])
        XCTAssertEqual(gradients(of: sum(g), with: [x])[0].scalars, [6, -12])
    }
}
