// swift-tools-version:6.0
//
// No package dependencies, ever: the runtime needs nothing but a Swift toolchain.
//
// Release builds compile for the CPU of the machine that builds them
// (`-target-cpu native`): without a target CPU, Swift emits generic x86-64 and every
// SIMD fused multiply-add becomes a call to `fmaf` (about 60x slower). The price is that
// a release binary runs only on CPUs with the same instruction sets. To build for another
// machine, set RECYCLE_TARGET_CPU when building: `x86-64-v3` for any AVX2 CPU (Haswell, Zen
// and later), `x86-64-v4` for AVX-512 ones, or an LLVM CPU name such as `znver3`, `cortex-a72`.
import PackageDescription
import Foundation

/// The x86-64 levels users know from `-march` (x86-64-v2/v3/v4) are not CPU names to Swift's
/// `-target-cpu`; each maps to the oldest CPU LLVM knows with that level's instruction sets.
let levels = ["x86-64-v2": "nehalem", "x86-64-v3": "haswell", "x86-64-v4": "skylake-avx512"]
let requestedCPU = ProcessInfo.processInfo.environment["RECYCLE_TARGET_CPU"] ?? "native"
let targetCPU = levels[requestedCPU] ?? requestedCPU
let fast: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", targetCPU], .when(configuration: .release)),
]

/// The 8-bit dot-product instructions of the target CPU (see Sources/RecycleIntrinsics):
/// for `native`, the build machine's flags from /proc/cpuinfo; otherwise a table of the
/// CPU names LLVM knows. Unknown names get the portable code, which computes the same
/// integers, only slower. Debug builds have no target CPU, hence no x86 extensions.
func byteDotDefine(cpu: String) -> String? {
    let flags: Set<Substring>
    if cpu == "native" {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let line = info.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        flags = Set(line.split(separator: " "))
    } else {
        let vnni: Set<String> = ["icelake-server", "icelake-client", "tigerlake", "sapphirerapids", "emeraldrapids",
                                 "graniterapids", "cooperlake", "cascadelake", "znver4", "znver5"]
        let avx512: Set<String> = ["skylake-avx512", "skx"]
        let avx2: Set<String> = ["haswell", "core-avx2", "broadwell", "skylake", "alderlake", "raptorlake", "meteorlake",
                                 "arrowlake", "lunarlake", "znver1", "znver2", "znver3"]
        flags = vnni.contains(cpu) ? ["avx512_vnni", "avx512bw", "avx2"]
            : avx512.contains(cpu) ? ["avx512bw", "avx2"] : avx2.contains(cpu) ? ["avx2"] : []
    }
    if flags.contains("avx512_vnni") && flags.contains("avx512bw") { return "RECYCLE_X86_VNNI" }
    if flags.contains("avx512bw") { return "RECYCLE_X86_AVX512BW" }
    if flags.contains("avx2") { return "RECYCLE_X86_AVX2" }
    return nil
}
let byteDot = byteDotDefine(cpu: targetCPU)

let package = Package(
    name: "recycle",
    products: [
        .executable(name: "recycle", targets: ["recycle"]),
        // The library for other packages: models, tokenizers, generation and drafters, and the
        // shared tools (choosing a drafter, the state cache, traces). See README, "Use it from
        // Swift": depend on it by branch or revision, as version requirements refuse the
        // unsafe flags above.
        .library(name: "Recycle", targets: ["RecycleModel", "RecycleDecoding", "RecycleTools"]),
    ],
    targets: [
        // The x86 8-bit dot-product instructions and the prefetch hint, named through
        // `Builtin` (hence -parse-stdlib).
        .target(
            name: "RecycleIntrinsics",
            swiftSettings: fast + [.unsafeFlags(["-parse-stdlib"])]
                + (byteDot.map { [.define($0, .when(configuration: .release))] } ?? [])),
        // SIMD kernels: quantized matmul, norms, RoPE, softmax, threading. No model knowledge.
        .target(name: "RecycleKernels", dependencies: ["RecycleIntrinsics"], swiftSettings: fast),
        // Weights file, config, tokenizer, chat template, KV cache, transformer forward pass.
        .target(name: "RecycleModel", dependencies: ["RecycleKernels"], swiftSettings: fast),
        // Generation loop and samplers (and, later, speculative drafters).
        .target(name: "RecycleDecoding", dependencies: ["RecycleModel"], swiftSettings: fast),
        // The command-line parser the two executables share.
        .target(name: "RecycleArguments"),
        // What every front end needs and the library must not know (like llama.cpp's common/):
        // the state cache that keeps what drafters learn between processes.
        .target(name: "RecycleTools", dependencies: ["RecycleDecoding"]),
        // The OpenAI-compatible HTTP server (POSIX sockets, no dependencies).
        .target(name: "RecycleServer", dependencies: ["RecycleDecoding", "RecycleTools"]),
        // The command-line tool.
        .executableTarget(
            name: "recycle", dependencies: ["RecycleDecoding", "RecycleTools", "RecycleArguments", "RecycleServer"],
            swiftSettings: fast),
        // Benchmarks of the kernels, the forward pass and decoding (see Benchmarks/RESULTS.md).
        .executableTarget(
            name: "recycle-bench", dependencies: ["RecycleDecoding", "RecycleTools", "RecycleArguments", "RecycleIntrinsics"],
            path: "Benchmarks/recycle-bench", swiftSettings: fast),
        .testTarget(
            name: "RecycleTests",
            dependencies: ["RecycleDecoding", "RecycleTools", "RecycleIntrinsics", "RecycleServer"],
            resources: [.copy("Fixtures")],
            swiftSettings: fast),
    ]
)
