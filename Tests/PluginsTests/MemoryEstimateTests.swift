import Plugins
import SinGAN
import XCTest

/// The estimates the daemon refuses runs by must stay above what runs were measured to use
/// (peak resident set less the 58 MB of an idle `singan`, BENCHMARKS.md), and not far above it.
final class MemoryEstimateTests: XCTestCase {
    private let mb = 1 << 20

    /// `fast` trains on 128 x 128 windows: its estimate follows the working size's full-size
    /// buffers, not the whole-image graph (575 MB at 248 x 186 for the whole image). At 248 x 186
    /// the window's graph term (390 bytes per pixel and channel, measured at 128 channels) makes
    /// it 245 MB for 56 MB measured: generous, but under the whole image's.
    func testFastTrainingEstimateFollowsItsWindow() {
        let fast = TrainingConfig.fast
        let small = MemoryEstimate.training(fast, width: 248, height: 186)
        XCTAssertGreaterThanOrEqual(small, 56 * mb)
        XCTAssertLessThan(small, 300 * mb)
        var large = fast
        large.maxSize = 1984
        // Measured 2.50 GB at 1984 x 1488 (fast --iters 6 --max-size 1984, 128 x 128 windows).
        let big = MemoryEstimate.training(large, width: 1984, height: 1488)
        XCTAssertGreaterThanOrEqual(big, 2_500_000_000)
        XCTAssertLessThan(big, 3_000_000_000)
    }

    /// The paper preset trains on the whole working image: 390 bytes per pixel and channel, and
    /// the image is first brought to its working size (longer side 250).
    func testPaperTrainingEstimateIsTheWholeImageGraph() {
        let paper = TrainingConfig.paper
        XCTAssertEqual(MemoryEstimate.training(paper, width: 248, height: 186), 390 * 248 * 186 * paper.maxChannels)
        XCTAssertEqual(MemoryEstimate.training(paper, width: 2480, height: 1860), 390 * 250 * 188 * paper.maxChannels,
                       "2480 x 1860 is trained at 250 x 188")
    }

    /// `upsampling` reaches the configuration (`--upsampling grow-and-crop` reproduces format 1
    /// models' training, issue 11's "before").
    func testUpsamplingParameter() throws {
        let before = ParameterValues(["preset": .string("paper"), "upsampling": .string("grow-and-crop")])
        XCTAssertEqual(try TrainPlugin.config(before).upsampling, .growAndCrop)
        XCTAssertEqual(try TrainPlugin.config(ParameterValues(["preset": .string("paper")])).upsampling, .resize)
    }
}
