import ArgumentParser
import Engine
import Foundation
import SinGAN

/// `singan bench`: seconds per SinGAN training iteration at one scale, comparable with
/// `tools/torch_reference_bench.py` (the product's `TrainingStep`, same JSON keys); with `--conv`, the
/// three convolution kernels of an nfc -> nfc convolution at that size instead.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time one training iteration (3 critic steps with gradient penalty, 3 generator steps).",
        discussion: """
            Prints one JSON line with the keys of tools/torch_reference_bench.py (PyTorch). With --conv, \
            times the convolution kernels instead (forward, input gradient, weight gradient and an \
            im2col + sgemm yardstick): milliseconds, GFLOP/s counted as the direct convolution does \
            (2 * nfc * nfc * 9 * (H-2) * (W-2)) and process CPU milliseconds.
            """)

    @Option(help: "Image height in pixels.") var height = 186
    @Option(help: "Image width in pixels.") var width = 248
    @Option(help: "Channels per block (nfc).") var nfc = 128
    @Option(help: "Timed iterations.") var iters = 5
    @Option(help: "Untimed iterations first.") var warmup = 1
    @Option(help: "Threads of the engine's kernels.") var threads = 2
    @Flag(help: "Time the nfc -> nfc convolution kernels instead of a training iteration.") var conv = false

    func validate() throws {
        let minimum = conv ? 3 : 11
        guard height >= minimum, width >= minimum else {
            throw ValidationError("--height and --width must be at least \(minimum) (\(conv ? "one" : "five") 3x3 convolution\(conv ? "" : "s")), got \(height)x\(width)")
        }
        guard nfc >= 1, iters >= 1, warmup >= 0, threads >= 1 else {
            throw ValidationError("--nfc, --iters and --threads must be at least 1, --warmup at least 0")
        }
    }

    func run() throws {
        ComputeThreads.set(threads)
        if conv {
            print(runConvBenchmark(height: height, width: width, channels: nfc, iters: iters, warmup: warmup, threads: threads))
            return
        }
        let bench = TrainingBench(height: height, width: width, channels: nfc)
        for _ in 0..<warmup { try bench.iteration() }
        var times: [Double] = []
        for _ in 0..<iters {
            let start = DispatchTime.now().uptimeNanoseconds
            try bench.iteration()
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
