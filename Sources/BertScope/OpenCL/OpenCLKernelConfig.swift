/// Which family of kernels a backend runs, and their tile sizes (passed as `-D` build options).
///
/// On PoCL (a CPU device) GPU-style kernels (local-memory tiles, barriers, big work-groups) run
/// 10–100× slower than register-blocked ones with one work-item per output tile; on GPUs the
/// opposite holds.
struct OpenCLKernelConfig: Sendable, Equatable {
  enum Variant: String, Sendable, CaseIterable { case cpu, gpu }
  var variant: Variant

  // CPU variant (gemm_cpu.cl): a work-item computes gemmMR × gemmNR outputs; weights packed in
  // gemmNR-column panels; gemmLocal row tiles per work-group share one panel.
  // 4 × 32 (8 float16 accumulators) measured 5–10 % faster than 6 × 16 on PoCL (Zen 4, AVX-512).
  var gemmMR = 4
  var gemmNR = 32
  var gemmLocal = 4
  /// Local size of the one-row-per-work-item kernels (layer norm, embeddings).
  var rowLocal = 8
  /// Query rows per work-item (CPU) or work-group (GPU) of the attention kernels; local size (CPU).
  var attentionRows = 4
  var attentionLocal = 4

  // GPU variant (gemm_gpu.cl): tileM × tileN outputs per work-group, wptM × wptN per work-item.
  var tileM = 64
  var tileN = 64
  var tileK = 32
  var wptM = 4
  var wptN = 4
  /// Work-group size of the reduction kernels (a power of two).
  var reductionGroup = 128

  static func defaults(for type: OpenCLDeviceType, maxWorkGroupSize: Int) -> OpenCLKernelConfig {
    var config = OpenCLKernelConfig(variant: type == .cpu ? .cpu : .gpu)
    if config.variant == .gpu { config.attentionRows = 8 }
    // 16 × 16 work-items per GEMM tile by default; smaller devices get 8 × 8.
    if maxWorkGroupSize < (config.tileM / config.wptM) * (config.tileN / config.wptN) {
      config.tileM = 32
      config.tileN = 32
    }
    while config.reductionGroup > maxWorkGroupSize { config.reductionGroup /= 2 }
    return config
  }

  /// 32 × 32 output tiles of 2 × 2 per work-item, for GEMMs with few 64 × 64 tiles.
  mutating func useSmallTiles() {
    tileM = 32
    tileN = 32
    wptM = 2
    wptN = 2
  }

  /// The GEMM's build options. The GPU GEMM keeps the built-in erf (`-D EXACT_ERF`), which GPU
  /// compilers inline; the rational fit in common.cl exists for PoCL, whose erf is a scalar call.
  var gemmOptions: String {
    variant == .cpu
      ? "-D MR=\(gemmMR) -D NR=\(gemmNR)"
      : "-D TS_M=\(tileM) -D TS_N=\(tileN) -D TS_K=\(tileK) -D WPT_M=\(wptM) -D WPT_N=\(wptN) -D EXACT_ERF"
  }
  var reductionOptions: String { "-D WG=\(reductionGroup)" }
  func attentionOptions(headDim: Int) -> String {
    "-D HEAD_DIM=\(headDim) -D ROWS=\(attentionRows)" + (variant == .cpu ? "" : " " + reductionOptions)
  }
  var suffix: String { "_" + variant.rawValue }
}
