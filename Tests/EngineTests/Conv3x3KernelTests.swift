import Dispatch
#if canImport(Glibc)
import Glibc
#endif
@testable import Engine
import SeededRandom
import TensorAssertions
import XCTest

/// Checks the three convolution kernels against direct loops, on awkward small shapes.
final class Conv3x3KernelTests: XCTestCase {
    /// Odd sizes, channel counts that are not multiples of 4 or 8, inputs down to 3x3, and
    /// sizes that make several Winograd blocks, partial 8-tile groups and odd last tiles.
    let shapes: [(n: Int, ci: Int, co: Int, h: Int, w: Int)] = [
        (1, 1, 1, 3, 3), (2, 3, 5, 3, 4), (2, 5, 3, 4, 3), (2, 7, 9, 5, 7), (1, 3, 64, 11, 18),
        (2, 13, 6, 17, 19), (1, 16, 16, 21, 40), (2, 9, 11, 33, 35), (1, 32, 1, 12, 70),
    ]

    func testForwardMatchesDirectLoops() {
        var rng = SplitMix64(seed: 1)
        for s in shapes {
            let x = rng.floats(s.n * s.ci * s.h * s.w), wt = rng.floats(s.co * s.ci * 9)
            let bias = rng.floats(s.co)
            for withBias in [false, true] {
                let want = Direct.forward(x, n: s.n, ci: s.ci, h: s.h, w: s.w, wt, co: s.co,
                                          bias: withBias ? bias : nil)
                var got = [Float](repeating: .nan, count: want.count)
                withBias ? bias.withUnsafeBufferPointer { b in
                    Conv3x3.forward(x: x, n: s.n, ci: s.ci, h: s.h, w: s.w, weight: wt, co: s.co,
                                    bias: b.baseAddress, y: &got)
                } : Conv3x3.forward(x: x, n: s.n, ci: s.ci, h: s.h, w: s.w, weight: wt, co: s.co,
                                    bias: nil, y: &got)
                assertClose(got, want, scale: s.ci, "forward \(s) bias \(withBias)")
                for tile in [WinogradTile.f2x2, .f4x4] {
                    got = [Float](repeating: .nan, count: want.count)
                    bias.withUnsafeBufferPointer { b in
                        forward(x, s.n, s.ci, s.h, s.w, wt, s.co, withBias ? b.baseAddress : nil, &got, tile)
                    }
                    assertClose(got, want, scale: s.ci, "forward \(s) bias \(withBias) \(tile)")
                }
            }
        }
    }

    func testInputGradientMatchesDirectLoops() {
        var rng = SplitMix64(seed: 2)
        for s in shapes {
            let ho = s.h - 2, wo = s.w - 2
            let gy = rng.floats(s.n * s.co * ho * wo), wt = rng.floats(s.co * s.ci * 9)
            let want = Direct.inputGradient(gy, n: s.n, co: s.co, ho: ho, wo: wo, wt, ci: s.ci)
            var got = [Float](repeating: .nan, count: want.count)
            Conv3x3.inputGradient(gy: gy, n: s.n, co: s.co, ho: ho, wo: wo, weight: wt, ci: s.ci, gx: &got)
            assertClose(got, want, scale: s.co, "inputGradient \(s)")
            for tile in [WinogradTile.f2x2, .f4x4] {
                got = [Float](repeating: .nan, count: want.count)
                inputGradient(gy, s.n, s.co, ho, wo, wt, s.ci, &got, tile)
                assertClose(got, want, scale: s.co, "inputGradient \(s) \(tile)")
            }
        }
    }

    func testWeightGradientMatchesDirectLoops() {
        var rng = SplitMix64(seed: 3)
        for s in shapes {
            let ho = s.h - 2, wo = s.w - 2
            let x = rng.floats(s.n * s.ci * s.h * s.w), gy = rng.floats(s.n * s.co * ho * wo)
            let want = Direct.weightGradient(x, n: s.n, ci: s.ci, h: s.h, w: s.w, gy, co: s.co)
            var got = [Float](repeating: .nan, count: want.count)
            Conv3x3.weightGradient(x: x, n: s.n, ci: s.ci, h: s.h, w: s.w, gy: gy, co: s.co, gw: &got)
            assertClose(got, want, scale: s.n * ho * wo, "weightGradient \(s)")
            for tile in [WinogradTile.f2x2, .f4x4] {
                got = [Float](repeating: .nan, count: want.count)
                WinogradWeightGradient.compute(x: x, n: s.n, ci: s.ci, h: s.h, w: s.w, gy: gy, co: s.co,
                                               gw: &got, tile: tile)
                assertClose(got, want, scale: s.n * ho * wo, "weightGradient \(s) \(tile)")
            }
        }
    }

    /// A larger image: many row chunks, several channel blocks and Winograd blocks per image.
    func testLargerImage() {
        var rng = SplitMix64(seed: 4)
        let (n, ci, co, h, w) = (2, 40, 20, 67, 150)
        let x = rng.floats(n * ci * h * w), gy = rng.floats(n * co * (h - 2) * (w - 2))
        let want = Direct.weightGradient(x, n: n, ci: ci, h: h, w: w, gy, co: co)
        for tile in [WinogradTile.f2x2, .f4x4] {
            var got = [Float](repeating: .nan, count: want.count)
            WinogradWeightGradient.compute(x: x, n: n, ci: ci, h: h, w: w, gy: gy, co: co, gw: &got, tile: tile)
            assertClose(got, want, scale: n * (h - 2) * (w - 2), "weightGradient, larger image, \(tile)")
        }
        let wt = rng.floats(co * ci * 9)
        let wantY = Direct.forward(x, n: n, ci: ci, h: h, w: w, wt, co: co, bias: nil)
        for tile in [WinogradTile.f2x2, .f4x4] {
            var y = [Float](repeating: .nan, count: wantY.count)
            forward(x, n, ci, h, w, wt, co, nil, &y, tile)
            assertClose(y, wantY, scale: ci, "forward, larger image, \(tile)")
        }
    }

    /// Winograd trades some accuracy for multiplies: the error of all three kernels, and of both
    /// tilings of the forward and input gradient, at 64 -> 64 channels on unit-scale inputs, relative
    /// to the largest output. Measured: F(2x2) about 3e-7, near float32 rounding; F(4x4) 5-7e-6,
    /// the price of its larger transform coefficients (up to 8 and 1/24).
    /// F(4x4) from 4 blocks of its tiles on: fewer cannot be shared evenly between two threads.
    func testTileChoiceFollowsTheOutputSize() {
        // `fast`'s coarsest scale at 25 x 34, padded by 5: a 33 x 42 output, 9 x 11 F(4x4) tiles.
        XCTAssertEqual(TileGeometry(tile: 4, n: 1, h: 35, w: 44, pad: 0).blocks, 3)
        XCTAssertEqual(WinogradTile.choose(n: 1, h: 35, w: 44, pad: 0), .f2x2)
        XCTAssertEqual(WinogradTile.choose(n: 2, h: 35, w: 44, pad: 0), .f4x4)
        XCTAssertEqual(WinogradTile.choose(n: 1, h: 138, w: 138, pad: 0), .f4x4)
        // The input gradient's padding of 2 enlarges the output it tiles.
        XCTAssertEqual(WinogradTile.choose(n: 1, h: 31, w: 40, pad: 2), .f2x2)
    }

    func testWinogradErrorStaysNearRounding() {
        var rng = SplitMix64(seed: 6)
        let (ci, co, h, w) = (64, 64, 40, 52)
        let x = rng.floats(ci * h * w), wt = rng.floats(co * ci * 9), gy = rng.floats(co * (h - 2) * (w - 2))
        func relativeError(_ got: [Float], _ want: [Float]) -> Float {
            zip(got, want).map { abs($0 - $1) }.max()! / want.map(abs).max()!
        }
        let wantY = Direct.forward(x, n: 1, ci: ci, h: h, w: w, wt, co: co, bias: nil)
        let wantGx = Direct.inputGradient(gy, n: 1, co: co, ho: h - 2, wo: w - 2, wt, ci: ci)
        for tile in [WinogradTile.f2x2, .f4x4] {
            var y = [Float](repeating: .nan, count: wantY.count)
            forward(x, 1, ci, h, w, wt, co, nil, &y, tile)
            var gx = [Float](repeating: .nan, count: wantGx.count)
            inputGradient(gy, 1, co, h - 2, w - 2, wt, ci, &gx, tile)
            let errors = (relativeError(y, wantY), relativeError(gx, wantGx))
            print("Winograd \(tile) relative errors (forward, input gradient): \(errors)")
            let bound: Float = tile == .f2x2 ? 1e-6 : 1e-5
            XCTAssertLessThan(errors.0, bound, "\(tile)")
            XCTAssertLessThan(errors.1, bound, "\(tile)")
        }
        let wantGw = Direct.weightGradient(x, n: 1, ci: ci, h: h, w: w, gy, co: co)
        for tile in [WinogradTile.f2x2, .f4x4] {
            var gw = [Float](repeating: .nan, count: wantGw.count)
            WinogradWeightGradient.compute(x: x, n: 1, ci: ci, h: h, w: w, gy: gy, co: co, gw: &gw, tile: tile)
            let error = relativeError(gw, wantGw)
            print("Winograd \(tile) relative error (weight gradient): \(error)")
            XCTAssertLessThan(error, tile == .f2x2 ? 1e-6 : 1e-5, "\(tile)")
        }
    }

    /// <conv(x, w), gy> = <x, inputGradient(gy, w)> = <w, weightGradient(x, gy)>.
    func testTranspositionIdentities() {
        var rng = SplitMix64(seed: 5)
        for s in shapes {
            let ho = s.h - 2, wo = s.w - 2
            let x = rng.floats(s.n * s.ci * s.h * s.w), wt = rng.floats(s.co * s.ci * 9)
            let gy = rng.floats(s.n * s.co * ho * wo)
            var y = [Float](repeating: 0, count: gy.count), gx = x, gw = wt
            Conv3x3.forward(x: x, n: s.n, ci: s.ci, h: s.h, w: s.w, weight: wt, co: s.co, bias: nil, y: &y)
            Conv3x3.inputGradient(gy: gy, n: s.n, co: s.co, ho: ho, wo: wo, weight: wt, ci: s.ci, gx: &gx)
            Conv3x3.weightGradient(x: x, n: s.n, ci: s.ci, h: s.h, w: s.w, gy: gy, co: s.co, gw: &gw)
            let a = dot(y, gy), b = dot(x, gx), c = dot(wt, gw)
            let tolerance = 1e-4 * (magnitude(y, gy) + 1)
            XCTAssertEqual(a, b, accuracy: tolerance, "<conv(x,w),gy> vs <x,inputGradient> \(s)")
            XCTAssertEqual(a, c, accuracy: tolerance, "<conv(x,w),gy> vs <w,weightGradient> \(s)")
        }
    }

    /// Concurrent calls share the scratch pool: results must not mix.
    func testConcurrentCallsAgree() {
        var rng = SplitMix64(seed: 6)
        let (n, ci, co, h, w) = (1, 24, 20, 30, 45)
        let x = rng.floats(n * ci * h * w), wt = rng.floats(co * ci * 9)
        let want = Direct.forward(x, n: n, ci: ci, h: h, w: w, wt, co: co, bias: nil)
        let results = UnsafeMutablePointer<Float>.allocate(capacity: 4 * want.count)
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            Conv3x3.forward(x: x, n: n, ci: ci, h: h, w: w, weight: wt, co: co, bias: nil,
                            y: results + i * want.count)
        }
        for i in 0..<4 {
            assertClose(Array(UnsafeBufferPointer(start: results + i * want.count, count: want.count)),
                        want, scale: ci, "concurrent call \(i)")
        }
    }

    /// The F(2x2) input transform reads the rows of tile groups that cross the image's edge with
    /// masked loads, which may start before or end past a buffer. Placed against inaccessible
    /// guard pages (before and after), every kernel and tiling must give the direct loops'
    /// results without touching them: a read of a masked-out float crashes here.
    func testBuffersAgainstGuardPagesAreNotOverrun() {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard let mapped = mmap(nil, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              mapped != MAP_FAILED else { return XCTFail("mmap of 3 pages failed") }
        defer { munmap(mapped, 3 * page) }
        XCTAssertEqual(mprotect(mapped, page, PROT_NONE), 0)
        XCTAssertEqual(mprotect(mapped + 2 * page, page, PROT_NONE), 0)
        let floats = (mapped + page).bindMemory(to: Float.self, capacity: page / 4)
        var rng = SplitMix64(seed: 7)
        for (ci, co, h, w) in [(2, 3, 7, 21), (3, 2, 5, 17), (1, 1, 4, 3)] {
            let (ho, wo) = (h - 2, w - 2)
            let x = rng.floats(ci * h * w), wt = rng.floats(co * ci * 9), gy = rng.floats(co * ho * wo)
            let wantY = Direct.forward(x, n: 1, ci: ci, h: h, w: w, wt, co: co, bias: nil)
            let wantGx = Direct.inputGradient(gy, n: 1, co: co, ho: ho, wo: wo, wt, ci: ci)
            let wantGw = Direct.weightGradient(x, n: 1, ci: ci, h: h, w: w, gy, co: co)
            // Inputs at the page's start and at its end; outputs in an array.
            for atEnd in [false, true] {
                func placed(_ values: [Float]) -> UnsafeMutablePointer<Float> {
                    let p = atEnd ? floats + page / 4 - values.count : floats
                    p.update(from: values, count: values.count)
                    return p
                }
                for tile in [WinogradTile.f2x2, .f4x4] {
                    var y = [Float](repeating: .nan, count: wantY.count)
                    Conv3x3.winograd(x: placed(x), n: 1, ci: ci, h: h, w: w, pad: 0, weight: wt, co: co,
                                     transposed: false, bias: nil, y: &y, tile: tile)
                    assertClose(y, wantY, scale: ci, "forward \((ci, co, h, w)) at end \(atEnd) \(tile)")
                    var gx = [Float](repeating: .nan, count: wantGx.count)
                    Conv3x3.winograd(x: placed(gy), n: 1, ci: co, h: ho, w: wo, pad: 2, weight: wt, co: ci,
                                     transposed: true, bias: nil, y: &gx, tile: tile)
                    assertClose(gx, wantGx, scale: co, "inputGradient \((ci, co, h, w)) at end \(atEnd) \(tile)")
                    var gw = [Float](repeating: .nan, count: wantGw.count)
                    WinogradWeightGradient.compute(x: placed(x), n: 1, ci: ci, h: h, w: w, gy: gy, co: co,
                                                   gw: &gw, tile: tile)
                    assertClose(gw, wantGw, scale: ho * wo, "weightGradient \((ci, co, h, w)) at end \(atEnd) \(tile)")
                }
                // Outputs against the guard pages too.
                let out = atEnd ? floats + page / 4 - wantY.count : floats
                out.update(repeating: .nan, count: wantY.count)
                Conv3x3.forward(x: x, n: 1, ci: ci, h: h, w: w, weight: wt, co: co, bias: nil, y: out)
                assertClose(Array(UnsafeBufferPointer(start: out, count: wantY.count)), wantY, scale: ci,
                            "forward into a page's \(atEnd ? "end" : "start") \((ci, co, h, w))")
            }
        }
    }

    // MARK: helpers

    /// `Conv3x3.forward` through a given tiling.
    func forward(_ x: [Float], _ n: Int, _ ci: Int, _ h: Int, _ w: Int, _ weight: [Float], _ co: Int,
                 _ bias: UnsafePointer<Float>?, _ y: inout [Float], _ tile: WinogradTile) {
        Conv3x3.winograd(x: x, n: n, ci: ci, h: h, w: w, pad: 0, weight: weight, co: co,
                         transposed: false, bias: bias, y: &y, tile: tile)
    }

    /// `Conv3x3.inputGradient` through a given tiling.
    func inputGradient(_ gy: [Float], _ n: Int, _ co: Int, _ ho: Int, _ wo: Int, _ weight: [Float],
                       _ ci: Int, _ gx: inout [Float], _ tile: WinogradTile) {
        Conv3x3.winograd(x: gy, n: n, ci: co, h: ho, w: wo, pad: 2, weight: weight, co: ci,
                         transposed: true, bias: nil, y: &gx, tile: tile)
    }

    /// Inputs are uniform in [-1, 1), so an output summing `scale` products of 9 terms has a
    /// magnitude near sqrt(9 * scale); float32 rounding stays far below 1e-5 of that.
    func assertClose(_ got: [Float], _ want: [Float], scale: Int, _ what: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, what, file: file, line: line)
        let tolerance = 2e-5 * Float(9 * scale).squareRoot() + 1e-6
        var worst: Float = 0, at = 0
        for i in want.indices where !(abs(got[i] - want[i]) <= worst) {
            worst = abs(got[i] - want[i]); at = i
            if worst.isNaN { break }
        }
        XCTAssertLessThanOrEqual(worst, tolerance, "\(what): max error \(worst) at \(at)",
                                 file: file, line: line)
    }

    func dot(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }

    func magnitude(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).reduce(0) { $0 + abs(Double($1.0) * Double($1.1)) }
    }
}

/// The definitions, as plain loops in Double.
enum Direct {
    static func forward(_ x: [Float], n: Int, ci: Int, h: Int, w: Int, _ wt: [Float], co: Int,
                        bias: [Float]?) -> [Float] {
        let ho = h - 2, wo = w - 2
        var y = [Float](repeating: 0, count: n * co * ho * wo)
        for b in 0..<n { for o in 0..<co { for i in 0..<ho { for j in 0..<wo {
            var sum = Double(bias?[o] ?? 0)
            for c in 0..<ci { for ky in 0..<3 { for kx in 0..<3 {
                sum += Double(x[((b * ci + c) * h + i + ky) * w + j + kx]) * Double(wt[((o * ci + c) * 3 + ky) * 3 + kx])
            } } }
            y[((b * co + o) * ho + i) * wo + j] = Float(sum)
        } } } }
        return y
    }

    static func inputGradient(_ gy: [Float], n: Int, co: Int, ho: Int, wo: Int, _ wt: [Float],
                              ci: Int) -> [Float] {
        let h = ho + 2, w = wo + 2
        var gx = [Double](repeating: 0, count: n * ci * h * w)
        for b in 0..<n { for o in 0..<co { for i in 0..<ho { for j in 0..<wo {
            let g = Double(gy[((b * co + o) * ho + i) * wo + j])
            for c in 0..<ci { for ky in 0..<3 { for kx in 0..<3 {
                gx[((b * ci + c) * h + i + ky) * w + j + kx] += g * Double(wt[((o * ci + c) * 3 + ky) * 3 + kx])
            } } }
        } } } }
        return gx.map { Float($0) }
    }

    static func weightGradient(_ x: [Float], n: Int, ci: Int, h: Int, w: Int, _ gy: [Float],
                               co: Int) -> [Float] {
        let ho = h - 2, wo = w - 2
        var gw = [Double](repeating: 0, count: co * ci * 9)
        for b in 0..<n { for o in 0..<co { for i in 0..<ho { for j in 0..<wo {
            let g = Double(gy[((b * co + o) * ho + i) * wo + j])
            for c in 0..<ci { for ky in 0..<3 { for kx in 0..<3 {
                gw[((o * ci + c) * 3 + ky) * 3 + kx] += g * Double(x[((b * ci + c) * h + i + ky) * w + j + kx])
            } } }
        } } } }
        return gw.map { Float($0) }
    }
}
