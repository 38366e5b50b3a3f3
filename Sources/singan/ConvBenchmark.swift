import COpenBLAS
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Engine

/// Times the three 3x3 convolution kernels for a C -> C channel convolution of one H x W image and
/// returns one JSON line: milliseconds (median and min over `iters`) and GFLOP/s (from the median),
/// counting FLOPs as the direct convolution does: 2 * C * C * 9 * (H-2) * (W-2).
///
/// Each iteration runs forward, input gradient and weight gradient in that order, as a training
/// step does, plus `gemm_forward`: the plain im2col + cblas_sgemm forward, as the yardstick.
/// `*_cpu_ms` is the process CPU time of the median run: on a machine shared with other work,
/// GFLOP per CPU-second x threads is what the kernel would reach with the cores to itself
/// (OpenBLAS threads spin while waiting, which inflates `gemm_forward_cpu_ms`).
func runConvBenchmark(height: Int, width: Int, channels: Int, iters: Int, warmup: Int, threads: Int) -> String {
    openblas_set_num_threads(Int32(threads))  // the yardstick's sgemm, on as many threads as our kernels
    let c = channels, ho = height - 2, wo = width - 2
    var seed: UInt64 = 42
    func random(_ count: Int) -> [Float] {
        (0..<count).map { _ in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(seed >> 40) / Float(1 << 23) - 1
        }
    }
    let x = random(c * height * width), weight = random(c * c * 9), bias = random(c)
    let gy = random(c * ho * wo)
    var y = [Float](repeating: 0, count: c * ho * wo), gx = x, gw = weight
    let cols = UnsafeMutablePointer<Float>.allocate(capacity: c * 9 * ho * wo)
    defer { cols.deallocate() }

    let names = ["forward", "input_gradient", "weight_gradient", "gemm_forward"]
    var times = [[(wall: Double, cpu: Double)]](repeating: [], count: names.count)
    for iter in 0..<(warmup + iters) {
        let runs: [() -> Void] = [
            { Conv3x3.forward(x: x, n: 1, ci: c, h: height, w: width, weight: weight, co: c, bias: bias, y: &y) },
            { Conv3x3.inputGradient(gy: gy, n: 1, co: c, ho: ho, wo: wo, weight: weight, ci: c, gx: &gx) },
            { Conv3x3.weightGradient(x: x, n: 1, ci: c, h: height, w: width, gy: gy, co: c, gw: &gw) },
            { gemmForward(x: x, c: c, h: height, w: width, weight: weight, cols: cols, y: &y) },
        ]
        for (k, run) in runs.enumerated() {
            let start = DispatchTime.now().uptimeNanoseconds, cpuStart = processCPUms()
            run()
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            if iter >= warmup { times[k].append((ms, processCPUms() - cpuStart)) }
        }
    }
    let gflop = 2.0 * Double(c * c * 9 * ho * wo) / 1e9
    var fields = ["\"height\":\(height)", "\"width\":\(width)", "\"channels\":\(c)",
                  "\"threads\":\(threads)", "\"iters\":\(times[0].count)"]
    for (k, name) in names.enumerated() {
        let sorted = times[k].sorted { $0.wall < $1.wall }, median = sorted[sorted.count / 2]
        fields.append("\"\(name)_ms\":\(rounded(median.wall))")
        fields.append("\"\(name)_min_ms\":\(rounded(sorted[0].wall))")
        fields.append("\"\(name)_gflops\":\(rounded(gflop / median.wall * 1e3))")
        fields.append("\"\(name)_cpu_ms\":\(rounded(median.cpu))")
    }
    return "{" + fields.joined(separator: ",") + "}"
}

private func rounded(_ v: Double) -> Double { (v * 100).rounded() / 100 }

/// CPU time of all threads of this process, in milliseconds.
private func processCPUms() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) * 1e3 + Double(t.tv_nsec) / 1e6
}

/// The first-step convolution the issue starts from: im2col, then one sgemm on OpenBLAS threads.
private func gemmForward(x: UnsafePointer<Float>, c: Int, h: Int, w: Int, weight: UnsafePointer<Float>,
                         cols: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>) {
    let ho = h - 2, wo = w - 2, p = ho * wo, k = c * 9
    for ch in 0..<c { for ky in 0..<3 { for kx in 0..<3 {
        let row = cols + ((ch * 3 + ky) * 3 + kx) * p
        for i in 0..<ho { (row + i * wo).update(from: x + (ch * h + i + ky) * w + kx, count: wo) }
    } } }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(c), Int32(p), Int32(k),
                1, weight, Int32(k), cols, Int32(p), 0, y, Int32(p))
}
