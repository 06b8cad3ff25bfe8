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

  /// How results reach the host (not a kernel setting, but chosen by device type the same way).
  enum Readback: String, Sendable, CaseIterable {
    /// Activations and maps live in host memory the device uses in place
    /// (`CL_MEM_USE_HOST_PTR`); reading them is a map, no copy. For CPU devices (PoCL), where
    /// "device memory" is host memory anyway.
    case zeroCopy = "zero-copy"
    /// Reads go into pinned staging blocks (`CL_MEM_ALLOC_HOST_PTR`, mapped once, reused), on a
    /// second queue, each kept layer's maps as soon as its attention has run, so the copies
    /// overlap the later layers' compute. For GPUs, where pageable reads run at a fraction of
    /// the link's speed.
    case pinned
    /// `clEnqueueReadBuffer` into fresh pageable memory after the pass (the old way; for
    /// comparison).
    case pageable
  }
  var readback: Readback = .pinned

  static func defaults(for type: OpenCLDeviceType, maxWorkGroupSize: Int) -> OpenCLKernelConfig {
    var config = OpenCLKernelConfig(variant: type == .cpu ? .cpu : .gpu)
    config.readback = type == .cpu ? .zeroCopy : .pinned
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
