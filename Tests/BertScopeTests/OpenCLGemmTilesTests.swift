import Foundation
import Testing

@testable import BertScope

/// The GPU GEMM's tile candidates (`GPUGemmTiles`): every one the test device accepts builds
/// and is right, so an autotuner may pick any of them; invalid tiles are refused before a
/// build; the small-tile rule.
@Suite("GPU GEMM tiles", .enabled(if: OpenCLTest.available, OpenCLTest.skipReason))
struct OpenCLGemmTilesTests {
  /// Rows 1, 7, 130; k and n below, between and above the tile sizes, odd and even.
  static let shapes: [(Int, Int, Int)] = [(1, 45, 37), (7, 64, 96), (130, 33, 70)]

  static var device: OpenCLDeviceInfo { get throws { try OpenCLDevices.all()[OpenCLTest.deviceIndex] } }

  @Test("every candidate the device accepts builds and matches the reference")
  func everyCandidate() throws {
    let info = try Self.device
    let candidates = GPUGemmTiles.candidates(
      maxWorkGroupSize: info.maxWorkGroupSize, localMemoryBytes: info.localMemoryBytes)
    #expect(candidates.count >= 8 && candidates.count <= 32, "\(candidates.count) candidates")
    #expect(candidates.first == .large && candidates.dropFirst().first == .small)
    #expect(Set(candidates).count == candidates.count, "a candidate listed twice")
    for (i, tiles) in candidates.enumerated() {
      let backend = try OpenCLTest.backend(.gpu) {
        $0.gemmTiles = tiles
        $0.gemmSmallTiles = tiles
      }
      try checkLinear(backend, shapes: Self.shapes, seed: UInt64(100 + i), label: "gpu GEMM \(tiles)")
    }
  }

  @Test("kernel_gemm_gpu_vec: every candidate it can run builds and matches the reference")
  func everyVectorCandidate() throws {
    let info = try Self.device
    let candidates = GPUGemmTiles.candidates(
      maxWorkGroupSize: info.maxWorkGroupSize, localMemoryBytes: info.localMemoryBytes
    ).filter { $0.isValidVector(maxWorkGroupSize: info.maxWorkGroupSize, localMemoryBytes: info.localMemoryBytes) }
    #expect(candidates.count >= 8, "\(candidates.count) vector candidates")
    #expect(candidates.contains(.large) && candidates.contains(.small))
    // K of 45, 64 and 33: a last K-tile read element by element, and K not a multiple of 4.
    for (i, tiles) in candidates.enumerated() {
      let backend = try OpenCLTest.backend(.gpu) {
        $0.gemmVector = true
        $0.gemmTiles = tiles
        $0.gemmSmallTiles = tiles
      }
      try checkLinear(backend, shapes: Self.shapes, seed: UInt64(200 + i), label: "gpu vector GEMM \(tiles)")
    }
    // In place (the residual is the output) at a real shape, K = 1536, on the default tiles.
    try checkLinearInPlace(try OpenCLTest.backend(.gpu) { $0.gemmVector = true }, seed: 9, label: "gpu vector GEMM")
  }

  @Test("the transposed, padded weight of kernel_gemm_gpu_vec")
  func transposePadded() {
    let w: [Float] = [1, 2, 3, 4, 5, 6]  // [2, 3]
    let (t, np) = OpenCLBackend.transposePadded(w, rows: 2, cols: 3)
    #expect(np == 128)
    #expect(t.count == 32 * 128)
    #expect(t[0] == 1 && t[1] == 4 && t[128] == 2 && t[129] == 5 && t[256] == 3 && t[257] == 6)
    #expect(t.enumerated().filter { ![0, 1, 128, 129, 256, 257].contains($0.offset) }.allSatisfy { $0.element == 0 })
    // 128 × 128 × 32 double buffers need 64 KB: not on a device with 48 KB.
    let huge = GPUGemmTiles(tileM: 128, tileN: 128, tileK: 32, wptM: 8, wptN: 8)
    #expect(!huge.isValidVector(maxWorkGroupSize: 256, localMemoryBytes: 48 * 1024))
    #expect(GPUGemmTiles.large.isValidVector(maxWorkGroupSize: 256, localMemoryBytes: 48 * 1024))
  }

  @Test("tiles a device cannot run are invalid")
  func invalidTiles() {
    let big = UInt64(64 * 1024)
    #expect(GPUGemmTiles.large.isValid(maxWorkGroupSize: 256, localMemoryBytes: big))
    // 16 × 16 work-items do not fit a work-group of 128.
    #expect(!GPUGemmTiles.large.isValid(maxWorkGroupSize: 128, localMemoryBytes: big))
    // The 128 × 128 × 32 tiles need 33 KB of local memory.
    let huge = GPUGemmTiles(tileM: 128, tileN: 128, tileK: 32, wptM: 8, wptN: 8)
    #expect(huge.localMemoryBytes == 4 * 32 * 258)
    #expect(!huge.isValid(maxWorkGroupSize: 256, localMemoryBytes: 32 * 1024))
    #expect(huge.isValid(maxWorkGroupSize: 256, localMemoryBytes: 48 * 1024))
    // Not divisible, zero, or more than 64 accumulators per work-item.
    #expect(
      !GPUGemmTiles(tileM: 64, tileN: 60, tileK: 16, wptM: 4, wptN: 8).isValid(
        maxWorkGroupSize: 1024, localMemoryBytes: big))
    #expect(
      !GPUGemmTiles(tileM: 64, tileN: 64, tileK: 0, wptM: 4, wptN: 4).isValid(
        maxWorkGroupSize: 1024, localMemoryBytes: big))
    #expect(
      !GPUGemmTiles(tileM: 128, tileN: 128, tileK: 16, wptM: 16, wptN: 8).isValid(
        maxWorkGroupSize: 1024, localMemoryBytes: big))
    // A small device gets only candidates it can run.
    let small = GPUGemmTiles.candidates(maxWorkGroupSize: 64, localMemoryBytes: 16 * 1024)
    #expect(!small.isEmpty)
    #expect(small.allSatisfy { $0.workGroupSize <= 64 && $0.localMemoryBytes <= 16 * 1024 })
  }

  @Test("GEMMs with fewer than two large tiles per compute unit get the small tiles")
  func smallTileRule() {
    let config = OpenCLKernelConfig.defaults(for: .gpu, maxWorkGroupSize: 1024)
    // 4,096 × 384 in 64 × 64 tiles: 384 work-groups, enough for 132 compute units (≥ 264).
    #expect(config.gpuGemmTiles(m: 4096, n: 384, computeUnits: 132) == config.gemmTiles)
    // 128 × 384 (one sequence): 12 work-groups.
    #expect(config.gpuGemmTiles(m: 128, n: 384, computeUnits: 132) == config.gemmSmallTiles)
    #expect(config.gpuGemmTiles(m: 4096, n: 384, computeUnits: 200) == config.gemmSmallTiles)
    #expect(GPUGemmTiles.large.workGroups(m: 4096, n: 384) == 384)
    #expect(GPUGemmTiles.large.description == "64x64k32/4x4")
    #expect(GPUGemmTiles.large.options == "-D TS_M=64 -D TS_N=64 -D TS_K=32 -D WPT_M=4 -D WPT_N=4")
  }
}
