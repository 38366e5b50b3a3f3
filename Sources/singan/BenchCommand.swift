import ArgumentParser
import Foundation
import PyramidModel

/// `singan bench`: seconds per SinGAN training iteration at one scale, comparable with
/// `shared/tools/torch_reference_bench.py` (same iteration, same JSON keys).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time one training iteration (3 critic steps with gradient penalty, 3 generator steps).")

    @Option(help: "Image height in pixels.") var height = 186
    @Option(help: "Image width in pixels.") var width = 248
    @Option(help: "Channels per block (nfc).") var nfc = 128
    @Option(help: "Timed iterations.") var iters = 5
    @Option(help: "Untimed iterations first.") var warmup = 1
    @Option(help: "OpenBLAS threads.") var threads = 2

    func validate() throws {
        guard height >= 11, width >= 11 else {
            throw ValidationError("--height and --width must be at least 11 (five 3x3 convolutions), got \(height)x\(width)")
        }
        guard nfc >= 1, iters >= 1, warmup >= 0, threads >= 1 else {
            throw ValidationError("--nfc, --iters and --threads must be at least 1, --warmup at least 0")
        }
    }

    func run() throws {
        ComputeThreads.set(threads)
        Memory.retainFreedBlocks()
        let bench = TrainingBench(height: height, width: width, channels: nfc)
        for _ in 0..<warmup { bench.iteration() }
        var times: [Double] = []
        for _ in 0..<iters {
            let start = DispatchTime.now().uptimeNanoseconds
            bench.iteration()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let sorted = times.sorted()
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2]
            : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        func rounded(_ x: Double) -> Double { (x * 1e4).rounded() / 1e4 }
        print("{\"height\": \(height), \"width\": \(width), \"nfc\": \(nfc), \"threads\": \(threads), "
              + "\"s_per_iter_median\": \(rounded(median)), \"s_per_iter_min\": \(rounded(sorted[0]))}")
    }
}
