import Foundation

/// How much longer a test waits for work to happen when it runs under a sanitizer.
///
/// `scripts/sanitize.sh` builds the tests and `singan` with ThreadSanitizer or AddressSanitizer,
/// and instrumented code is slower: in the first complete TSan run (2026-12-02, 2-core machine
/// under load) the 18 tests that compute took 6-45x as long as in the plain release build (median
/// 11x; SinGAN training 10-45x), and a daemon training that takes 4.7 s missed its 60 s wait. Only
/// waits for something to happen are stretched; a test's own bound on the code under test (a stop
/// within 5 s, say) is not, so a sanitized run still checks it.
public enum SanitizerSlowdown {
    /// 1 in a plain build. TSan: 20, the slowest ratio measured (45x) against waits that already
    /// leave a plain build at least 2x room. ASan checks shadow memory only (LLVM documents about
    /// 2x): 3.
    public static let factor: Double = {
        if runtimeIsLoaded("__tsan_init") { return 20 }
        if runtimeIsLoaded("__asan_init") { return 3 }
        return 1
    }()

    /// `seconds`, stretched by `factor`.
    public static func seconds(_ seconds: Double) -> Double { seconds * factor }

    /// Polls `condition` every `interval` seconds until it holds (true) or `seconds` stretched by
    /// `factor` have passed (false).
    public static func wait(upTo seconds: Double, every interval: Double = 0.02, until condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(self.seconds(seconds))
        while !condition() {
            if Date() > end { return false }
            Thread.sleep(forTimeInterval: interval)
        }
        return true
    }

    /// A sanitizer's runtime is linked into the test binary and exports its entry point.
    private static func runtimeIsLoaded(_ symbol: String) -> Bool {
        dlsym(nil, symbol) != nil
    }
}
