// swift-tools-version:6.1
import PackageDescription

/// Hot numeric code: AVX2 + FMA (any x86-64 since 2013) and no bounds checks in release builds.
let fastMath: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-target-cpu", "haswell"], .when(configuration: .release)),
]
/// Swift 6 language mode (complete concurrency checking) for every product module; test targets
/// stay in the package default, 5.
let swift6: [SwiftSetting] = [.swiftLanguageMode(.v6)]
let fastC: [CSetting] = [
    .unsafeFlags(["-O3", "-march=haswell", "-mfma", "-ffp-contract=fast"]),
]

let package = Package(
    name: "singan-swift",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "singan", targets: ["singan"]),
    ],
    traits: [
        // On by default. The README's demo builds without it (`--disable-default-traits`): postgres-nio
        // brings SwiftNIO and two copies of BoringSSL, and a clean build takes 864 CPU-seconds with
        // them, 228 without (BENCHMARKS.md).
        .trait(name: "PostgreSQL", description: "The shared PostgreSQL journal of a fleet of daemons (singan daemon --journal postgres://...)."),
        .default(enabledTraits: ["PostgreSQL"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.21.0"),
    ],
    targets: [
        // C libraries from Debian.
        .systemLibrary(name: "CLibVips", path: "Sources/CLibVips", pkgConfig: "vips",
                       providers: [.apt(["libvips-dev"])]),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CInotify", path: "Sources/CInotify",
                       providers: [.apt(["libinotifytools0-dev"])]),
        // The prefetch instruction, which Swift cannot spell (a header, no library).
        .systemLibrary(name: "CPrefetch", path: "Sources/CPrefetch"),
        // Fixed-argument wrappers around libvips' variadic operations.
        .target(name: "CVips", dependencies: ["CLibVips"], path: "Sources/CVips"),

        // Layers, bottom up: whole-file writes; image IO; the tensor engine; SinGAN; task plugins;
        // the daemon; the command.
        .target(name: "AtomicFile", swiftSettings: swift6),
        .target(name: "Vips", dependencies: ["CVips", "AtomicFile"], swiftSettings: swift6),
        .target(name: "Engine", dependencies: ["CPrefetch"], swiftSettings: fastMath + swift6),
        .target(name: "SinGAN", dependencies: ["Engine", "Vips", "AtomicFile"], swiftSettings: fastMath + swift6),
        // The training-free patch tier (GPNN-class): no autograd, libvips for images only.
        .target(name: "PatchTier", dependencies: ["Engine", "Vips"], swiftSettings: fastMath + swift6),
        .target(name: "Plugins", dependencies: ["SinGAN", "Engine", "PatchTier", "Vips", "AtomicFile", .product(name: "Logging", package: "swift-log")],
                swiftSettings: fastMath + swift6),
        .target(name: "Daemon", dependencies: [
            "Plugins", "Vips", "AtomicFile", "CInotify",
            .product(name: "Yams", package: "Yams"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "PostgresNIO", package: "postgres-nio", condition: .when(traits: ["PostgreSQL"])),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: swift6),
        // OpenBLAS only for `singan bench --conv`'s im2col + sgemm yardstick (ConvBenchmark.swift).
        .executableTarget(name: "singan", dependencies: [
            "AtomicFile", "Vips", "Engine", "SinGAN", "Plugins", "Daemon", "COpenBLAS",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: fastMath + swift6),

        // Support shared by the test targets: seeded random numbers, tensor comparison, longer waits
        // under sanitizers.
        .target(name: "SeededRandom", path: "Tests/SeededRandom"),
        .target(name: "TensorAssertions", dependencies: ["Engine"], path: "Tests/TensorAssertions"),
        .target(name: "SanitizerSlowdown", path: "Tests/SanitizerSlowdown"),
        .testTarget(name: "AtomicFileTests", dependencies: ["AtomicFile"]),
        .testTarget(name: "VipsTests", dependencies: ["Vips", "SeededRandom"], resources: [.copy("Resources")]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "SeededRandom", "TensorAssertions"],
                    swiftSettings: fastMath),
        .testTarget(name: "SinGANTests", dependencies: ["SinGAN", "Engine", "Vips", "TensorAssertions"],
                    resources: [.copy("Resources")], swiftSettings: fastMath),
        .testTarget(name: "PluginsTests", dependencies: ["Plugins", "SinGAN", "Engine", "Vips"],
                    resources: [.copy("Resources")], swiftSettings: fastMath),
        .testTarget(name: "PatchTierTests", dependencies: ["PatchTier", "Vips"], swiftSettings: fastMath),
        .testTarget(name: "DaemonTests", dependencies: ["Daemon", "singan", "SanitizerSlowdown"]),
        .testTarget(name: "SinganCLITests", dependencies: ["singan", "SinGAN", "Vips", "SanitizerSlowdown"],
                    resources: [.copy("Resources")]),
    ],
    swiftLanguageModes: [.v5]
)
