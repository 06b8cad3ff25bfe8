import CHostKernels
import COpenBLAS
import Foundation

/// Which GEMM the CPU backend's linear layers use.
public enum HostGemm: String, Sendable, CaseIterable {
  /// BertScope's own (`Sources/CHostKernels`): weights packed once at load, a 6 × 64 AVX-512
  /// micro-kernel, bias / residual / GELU applied in registers. Needs AVX-512F. Each output
  /// row is summed in the same order whatever the batch around it, so a sentence's result is
  /// bit-for-bit the same in any batch.
  case packed
  /// OpenBLAS `sgemm` on row blocks, then the epilogue: any CPU OpenBLAS runs on.
  case openBLAS = "openblas"

  /// `BERTSCOPE_CPU_GEMM` (`packed` or `openblas`) if set, else `packed` where the CPU has
  /// AVX-512F and `openblas` where it does not.
  public static func resolve(_ requested: HostGemm? = nil) throws -> HostGemm {
    switch try requested ?? environmentChoice("BERTSCOPE_CPU_GEMM") {
    case .openBLAS: return .openBLAS
    case .packed:
      guard bs_gemm_available() != 0 else {
        throw BertScopeError.backendUnavailable(
          "the packed host GEMM needs a CPU with AVX-512F; use BERTSCOPE_CPU_GEMM=openblas")
      }
      return .packed
    case nil: return bs_gemm_available() != 0 ? .packed : .openBLAS
    }
  }
}

/// Which build of the host kernels (`host_kernels.h`: attention, softmax, LayerNorm,
/// embeddings, the OpenBLAS path's epilogues) the CPU backend runs. Both give the same bits.
enum HostKernels: String, Sendable, CaseIterable {
  /// The build's baseline target: any x86-64 or aarch64 CPU (slow on x86-64 without FMA).
  case portable
  /// AVX2 + FMA: Intel Haswell, AMD Zen or newer.
  case avx2

  /// The C kernels' level code (`BS_KERNELS_*`).
  var level: Int32 {
    switch self {
    case .portable: return Int32(BS_KERNELS_PORTABLE)
    case .avx2: return Int32(BS_KERNELS_AVX2_FMA)
    }
  }

  /// E.g. "AVX2+FMA".
  var label: String { String(cString: bs_kernels_level_name(level)) }

  var available: Bool { bs_kernels_level_available(level) != 0 }

  /// `requested`, else `BERTSCOPE_CPU_KERNELS` (`portable` or `avx2`) if set, else the
  /// fastest this CPU runs.
  static func resolve(_ requested: HostKernels? = nil) throws -> HostKernels {
    guard let choice = try requested ?? environmentChoice("BERTSCOPE_CPU_KERNELS") else {
      return bs_kernels_best_level() == Int32(BS_KERNELS_AVX2_FMA) ? .avx2 : .portable
    }
    guard choice.available else {
      throw BertScopeError.backendUnavailable(
        "the \(choice.label) host kernels need an x86-64 CPU with AVX2 and FMA; use BERTSCOPE_CPU_KERNELS=portable")
    }
    return choice
  }
}

/// The case of `T` named by environment variable `variable` (case-insensitive), nil when it
/// is unset or empty; any other value is an error listing the names.
func environmentChoice<T: RawRepresentable & CaseIterable>(_ variable: String) throws -> T? where T.RawValue == String {
  guard let name = ProcessInfo.processInfo.environment[variable], !name.isEmpty else { return nil }
  guard let choice = T(rawValue: name.lowercased()) else {
    throw BertScopeError.invalidInput(
      "\(variable)=\(printable(name)): expected \(T.allCases.map(\.rawValue).joined(separator: " or "))")
  }
  return choice
}

/// The host backend: our packed AVX-512 GEMM (or OpenBLAS sgemm) for the linear layers, the
/// C kernels of `host_kernels.h` for everything else, every op split over `hostThreads`
/// threads. It is also the reference the OpenCL backend is tested against.
///
/// Ops run synchronously; buffers are `FloatStorage` so that results are handed out without
/// copying. Stateless apart from its configuration, so it is safe to share between threads.
/// The ops live in the `CPUBackend+*.swift` extensions.
final class CPUBackend: ComputeBackend, @unchecked Sendable {
  typealias Buffer = FloatStorage

  /// A linear layer's weight `[rows = out][cols = in]`: in Hugging Face's layout for OpenBLAS
  /// (sgemm reads it transposed), or `bs_gemm_pack`ed into 64-column panels.
  final class Matrix: @unchecked Sendable {
    let storage: FloatStorage
    let rows: Int
    let cols: Int
    init(storage: FloatStorage, rows: Int, cols: Int) {
      self.storage = storage
      self.rows = rows
      self.cols = cols
    }
  }

  struct Layout {}

  /// E.g. "cpu (OpenBLAS Zen, AVX2+FMA kernels, 2 threads)".
  let name: String
  let gemm: HostGemm
  let kernels: HostKernels

  /// - Parameters:
  ///   - gemm: nil: `HostGemm.resolve()` (the environment, then the CPU).
  ///   - kernels: nil: `HostKernels.resolve()` (the environment, then the CPU).
  init(gemm requested: HostGemm? = nil, kernels requestedKernels: HostKernels? = nil) throws {
    gemm = try HostGemm.resolve(requested)
    kernels = try HostKernels.resolve(requestedKernels)
    // Every op parallelises itself over `hostThreads`; each sgemm call is single-threaded.
    openblas_set_num_threads(1)
    let rest = "\(kernels.label) kernels, \(hostThreads) threads"
    switch gemm {
    case .packed:
      name = "cpu (packed AVX-512 GEMM, \(rest))"
    case .openBLAS:
      let core = openblas_get_corename().map { String(cString: $0) } ?? "?"
      name = "cpu (OpenBLAS \(core), \(rest))"
    }
  }

  var activationsInHostMemory: Bool { true }
  func makeBuffer(count: Int) throws -> FloatStorage { FloatStorage(count: count) }
  func makeBuffer(_ values: [Float]) throws -> FloatStorage { FloatStorage(values) }
  func makeMatrix(_ weight: [Float], rows: Int, cols: Int) throws -> Matrix {
    precondition(weight.count == rows * cols)
    switch gemm {
    case .openBLAS:
      return Matrix(storage: FloatStorage(weight), rows: rows, cols: cols)
    case .packed:
      let packed = FloatStorage(count: bs_gemm_packed_count(Int32(rows), Int32(cols)))
      weight.withUnsafeBufferPointer { bs_gemm_pack($0.baseAddress!, Int32(rows), Int32(cols), packed.pointer) }
      return Matrix(storage: packed, rows: rows, cols: cols)
    }
  }
  func makeLayout(_ batch: PackedBatch) throws -> Layout { Layout() }

  func read(_ buffer: FloatStorage, range: Range<Int>) throws -> [Float] {
    try checkRange(range, of: buffer)
    return buffer.array(range)
  }

  func readStorage(_ buffer: FloatStorage, count: Int) throws -> FloatStorage {
    try checkRange(0..<count, of: buffer)
    // No copy when the whole buffer is asked for (what the encoder does: it hands the buffer
    // out and never writes it again).
    return count == buffer.count ? buffer : FloatStorage(buffer.array(0..<count))
  }

  func copy(_ source: FloatStorage, count: Int, to destination: FloatStorage, at offset: Int) throws {
    guard source !== destination, count >= 0, count <= source.count, offset >= 0, offset <= destination.count - count
    else {
      throw BertScopeError.invalidInput(
        "CPU backend: copy of \(count) floats from a buffer of \(source.count) to offset \(offset) of a buffer of \(destination.count): out of range, or the same buffer"
      )
    }
    if count > 0 { (destination.pointer + offset).update(from: source.pointer, count: count) }
  }

  private func checkRange(_ range: Range<Int>, of buffer: FloatStorage) throws {
    guard range.lowerBound >= 0, range.upperBound <= buffer.count else {
      throw BertScopeError.invalidInput("CPU backend: read of \(range) outside a buffer of \(buffer.count) floats")
    }
  }
}
