#if canImport(Glibc)
import Glibc
#endif

/// Makes glibc keep freed memory for reuse instead of returning it to the kernel.
///
/// Training allocates and frees the same large buffers (im2col columns, activations) thousands
/// of times. With glibc's defaults many of them are mmapped and unmapped or trimmed each time,
/// and every reuse page-faults the memory in again: measured on `singan train --preset quick
/// --iters 3` (balloons.png, 2 cores), 8.3 s of system time of 46 s wall clock, against 0.5 s
/// of 19 s with this tuning. Buffers up to 32 MB (glibc's maximum threshold) come from the
/// heap, and the heap is never trimmed, so the process keeps its peak footprint.
enum AllocatorTuning {
    /// Sets the thresholds (idempotent). Returns whether glibc accepted them.
    @discardableResult
    static func apply() -> Bool {
        #if canImport(Glibc)
        // mallopt is declared in <malloc.h>, which the Glibc module does not export.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let process = dlopen(nil, RTLD_NOW), let symbol = dlsym(process, "mallopt") else { return false }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let mmapThreshold: Int32 = -3, trimThreshold: Int32 = -1  // M_MMAP_THRESHOLD, M_TRIM_THRESHOLD
        return mallopt(mmapThreshold, 32 << 20) == 1 && mallopt(trimThreshold, Int32.max) == 1
        #else
        return false
        #endif
    }
}
