// swift-tools-version: 6.0
import PackageDescription

let package = Package(
  name: "BertScope",
  products: [
    .executable(name: "bertscope", targets: ["bertscope"]),
    .library(name: "BertScope", targets: ["BertScope"]),
    .library(name: "BertScopeAnalysis", targets: ["BertScopeAnalysis"]),
    .library(name: "BertScopeReport", targets: ["BertScopeReport"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    // SHA-256 of corpora and checkpoints: what identifies a shard's input and model.
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    // `bertscope serve`: the HTTP server, its metrics in Prometheus' text format.
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
  ],
  targets: [
    // C libraries from the system (see README: apt packages).
    .systemLibrary(name: "COpenCL", path: "Sources/COpenCL"),
    .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
    .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
    // The host's C kernels: the GEMM (AVX-512) and everything else vectorised (AVX2 + FMA,
    // and a portable build of the same source), instruction sets enabled per function and
    // chosen by a run-time CPU check, so that no target needs unsafe flags (SwiftPM refuses
    // those in a package depended on by version).
    .target(name: "CHostKernels", path: "Sources/CHostKernels"),
    // Cairo and Pango, opened with dlopen when a PNG or PDF figure is drawn (see
    // bs_graphics.h): the binary starts, and runs everything else, without them.
    .target(name: "CGraphics", path: "Sources/CGraphics", linkerSettings: [.linkedLibrary("dl")]),

    // The OpenCL C sources, shipped as resources next to the binary.
    .target(
      name: "BertScopeKernels",
      path: "Kernels",
      exclude: ["README.md"],
      resources: [
        .copy("attention_context.cl"),
        .copy("attention_flash.cl"),
        .copy("attention_features.cl"),
        .copy("attention_probs.cl"),
        .copy("common.cl"),
        .copy("embed.cl"),
        .copy("fma_peak.cl"),
        .copy("gemm_cpu.cl"),
        .copy("gemm_gpu.cl"),
        .copy("gemm_gpu_tf32.cl"),
        .copy("gemm_gpu_vec.cl"),
        .copy("head_distances.cl"),
        .copy("layer_norm.cl"),
        // The built-in tuning database (OpenCLTuning), found beside the kernels.
        .copy("tuning-builtin.json"),
      ]
    ),

    // Model files, tokenizer, encoder and its backends.
    .target(
      name: "BertScope",
      dependencies: ["COpenCL", "COpenBLAS", "CHostKernels", "BertScopeKernels"]
    ),
    // Kovaleva et al. 2019 analyses over corpora.
    .target(
      name: "BertScopeAnalysis",
      dependencies: ["BertScope", .product(name: "Crypto", package: "swift-crypto")]
    ),
    // PNG/SVG/PDF figures and the offline HTML report.
    .target(
      name: "BertScopeReport",
      dependencies: ["BertScope", "BertScopeAnalysis", "CZlib", "CGraphics"]
    ),
    // `bertscope serve`: embeddings, tokens and attention over HTTP, with dynamic batching.
    .target(
      name: "BertScopeServer",
      dependencies: [
        "BertScope", "BertScopeAnalysis",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
      ]
    ),
    .executableTarget(
      name: "bertscope",
      dependencies: [
        "BertScope", "BertScopeAnalysis", "BertScopeReport", "BertScopeServer",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),

    .testTarget(
      name: "BertScopeTests",
      dependencies: [
        "BertScope", "BertScopeAnalysis", "BertScopeReport", "BertScopeServer", "CHostKernels", "CZlib",
      ]
    ),
  ]
)
