// swift-tools-version: 6.0
import PackageDescription

// The CPU kernels are written with Swift SIMD types; without AVX2/FMA enabled for the C
// importer, `addingProduct` lowers to a call to `fmaf` per lane (~20x slower). BertScope
// therefore needs an x86-64 CPU with AVX2 and FMA (Intel Haswell / AMD Zen or newer);
// `bertscope` checks for them at start-up and says so instead of trapping.
#if arch(x86_64)
let simd: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma", "-Xcc", "-mf16c"])]
#else
let simd: [SwiftSetting] = []
#endif

let package = Package(
  name: "BertScope",
  products: [
    .executable(name: "bertscope", targets: ["bertscope"]),
    .library(name: "BertScope", targets: ["BertScope"]),
    .library(name: "BertScopeAnalysis", targets: ["BertScopeAnalysis"]),
    .library(name: "BertScopeReport", targets: ["BertScopeReport"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
  ],
  targets: [
    // C libraries from the system (see README: apt packages).
    .systemLibrary(name: "COpenCL", path: "Sources/COpenCL"),
    .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
    .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
    // Our host GEMM (AVX-512 intrinsics, enabled per function; runtime CPU check).
    .target(name: "CHostKernels", path: "Sources/CHostKernels"),

    // The OpenCL C sources, shipped as resources next to the binary.
    .target(
      name: "BertScopeKernels",
      path: "Kernels",
      exclude: ["README.md"],
      resources: [
        .copy("attention_context.cl"),
        .copy("attention_features.cl"),
        .copy("attention_probs.cl"),
        .copy("common.cl"),
        .copy("embed.cl"),
        .copy("gemm_cpu.cl"),
        .copy("gemm_gpu.cl"),
        .copy("layer_norm.cl"),
      ]
    ),

    // Model files, tokenizer, encoder and its backends.
    .target(
      name: "BertScope",
      dependencies: ["COpenCL", "COpenBLAS", "CHostKernels", "BertScopeKernels"],
      swiftSettings: simd
    ),
    // Kovaleva et al. 2019 analyses over corpora.
    .target(
      name: "BertScopeAnalysis",
      dependencies: ["BertScope"],
      swiftSettings: simd
    ),
    // PNG/SVG figures and the offline HTML report.
    .target(
      name: "BertScopeReport",
      dependencies: ["BertScope", "BertScopeAnalysis", "CZlib"]
    ),
    .executableTarget(
      name: "bertscope",
      dependencies: [
        "BertScope", "BertScopeAnalysis", "BertScopeReport",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),

    .testTarget(
      name: "BertScopeTests",
      dependencies: ["BertScope", "BertScopeAnalysis", "BertScopeReport", "CHostKernels", "CZlib"]
    ),
  ]
)
