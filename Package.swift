// swift-tools-version:6.0
//
// No package dependencies, ever: the runtime needs nothing but a Swift toolchain.
//
// Release builds compile for the CPU of the machine that builds them
// (`-target-cpu native`): without a target CPU, Swift emits generic x86-64 and every
// SIMD fused multiply-add becomes a call to `fmaf` (about 60x slower). The price is that
// a release binary runs only on CPUs with the same instruction sets. To build for another
// machine, set RECYCLE_TARGET_CPU (e.g. `x86-64-v3` for any AVX2 CPU) when building.
import PackageDescription
import Foundation

let targetCPU = ProcessInfo.processInfo.environment["RECYCLE_TARGET_CPU"] ?? "native"
let fast: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", targetCPU], .when(configuration: .release)),
]

let package = Package(
    name: "recycle",
    products: [
        .executable(name: "recycle", targets: ["recycle"]),
        .library(name: "RecycleDecoding", targets: ["RecycleDecoding"]),
    ],
    targets: [
        // SIMD kernels: quantized matmul, norms, RoPE, softmax, threading. No model knowledge.
        .target(name: "RecycleKernels", swiftSettings: fast),
        // Weights file, config, tokenizer, chat template, KV cache, transformer forward pass.
        .target(name: "RecycleModel", dependencies: ["RecycleKernels"], swiftSettings: fast),
        // Generation loop and samplers (and, later, speculative drafters).
        .target(name: "RecycleDecoding", dependencies: ["RecycleModel"], swiftSettings: fast),
        // The command-line parser the two executables share.
        .target(name: "RecycleArguments"),
        // The command-line tool.
        .executableTarget(name: "recycle", dependencies: ["RecycleDecoding", "RecycleArguments"], swiftSettings: fast),
        // Benchmarks of the kernels, the forward pass and decoding (see Benchmarks/RESULTS.md).
        .executableTarget(
            name: "recycle-bench", dependencies: ["RecycleDecoding", "RecycleArguments"], path: "Benchmarks/recycle-bench",
            swiftSettings: fast),
        .testTarget(
            name: "RecycleTests",
            dependencies: ["RecycleDecoding"],
            resources: [.copy("Fixtures")],
            swiftSettings: fast),
    ]
)
