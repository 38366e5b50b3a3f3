import Engine
import XCTest

final class BatchNormStatisticsTests: XCTestCase {
    /// Running mean and unbiased running variance after several training passes, computed by hand.
    func testRunningStatisticsAfterSeveralPasses() {
        let bn = BatchNorm2d(channels: 2)
        var expectedMean: [Double] = [0, 0], expectedVar: [Double] = [1, 1]
        for pass in 0..<4 {
            let x = Sample.normal([2, 2, 3, 3], seed: UInt64(40 + pass), scale: Float(pass + 1))
            _ = bn(x)
            for c in 0..<2 {
                var values: [Double] = []
                for b in 0..<2 { for i in 0..<9 { values.append(Double(x.scalars[(b * 2 + c) * 9 + i])) } }
                let m = values.reduce(0, +) / Double(values.count)
                let unbiased = values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(values.count - 1)
                expectedMean[c] = 0.9 * expectedMean[c] + 0.1 * m
                expectedVar[c] = 0.9 * expectedVar[c] + 0.1 * unbiased
            }
        }
        for c in 0..<2 {
            XCTAssertEqual(Double(bn.runningMean.scalars[c]), expectedMean[c], accuracy: 1e-5)
            XCTAssertEqual(Double(bn.runningVar.scalars[c]), expectedVar[c], accuracy: 1e-4 * expectedVar[c])
        }
        // Inference mode uses them: y = (x - mean) / sqrt(var + eps) with gamma 1, beta 0.
        bn.isTraining = false
        let x = Sample.normal([1, 2, 2, 2], seed: 50)
        let y = bn(x)
        for c in 0..<2 { for i in 0..<4 {
            let expected = (Double(x.scalars[c * 4 + i]) - expectedMean[c]) / (expectedVar[c] + 1e-5).squareRoot()
            XCTAssertEqual(Double(y.scalars[c * 4 + i]), expected, accuracy: 1e-4)
        } }
    }

    func testNoGradModeRecordsNothingButStillUpdatesStatistics() {
        let bn = BatchNorm2d(channels: 1)
        let y = withNoGrad { bn(Sample.normal([1, 1, 4, 4], seed: 51)) }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertNotEqual(bn.runningMean.item, 0)
    }
}
