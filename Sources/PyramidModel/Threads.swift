import COpenBLAS

/// Threading: the engine's only parallelism is OpenBLAS's inside sgemm (the convolutions).
/// Element-wise ops, reductions and BatchNorm run on the calling thread, so threads are never
/// stacked on top of OpenBLAS's.
///
/// Determinism: with a fixed thread count, a seeded run gives the same bits every time. Another
/// thread count may change the last bits of convolution results (OpenBLAS partitions sgemm by
/// thread count); `DeterminismTests` checks both counts.
public enum BLASThreads {
    /// Sets the number of threads OpenBLAS uses for sgemm.
    public static func set(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }

    /// The number of threads OpenBLAS uses.
    public static var count: Int { Int(openblas_get_num_threads()) }
}
