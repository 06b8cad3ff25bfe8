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
  /// OpenBLAS `sgemm` on row blocks, then the epilogue: any x86-64 CPU with AVX2 and FMA.
  case openBLAS = "openblas"

  /// `BERTSCOPE_CPU_GEMM` (`packed` or `openblas`) if set, else `packed` where the CPU has
  /// AVX-512F and `openblas` where it does not.
  public static func resolve(_ requested: HostGemm? = nil) throws -> HostGemm {
    var choice = requested
    if choice == nil, let name = ProcessInfo.processInfo.environment["BERTSCOPE_CPU_GEMM"], !name.isEmpty {
      guard let named = HostGemm(rawValue: name.lowercased()) else {
        throw BertScopeError.invalidInput(
          "BERTSCOPE_CPU_GEMM=\(printable(name)): expected \(allCases.map(\.rawValue).joined(separator: " or "))")
      }
      choice = named
    }
    switch choice {
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

/// The host backend: our packed AVX-512 GEMM (or OpenBLAS sgemm) for the linear layers, SIMD
/// Swift for everything else, both cores for every op. It is also the reference the OpenCL
/// backend is tested against.
///
/// Ops run synchronously; buffers are `FloatStorage` so that results are handed out without
/// copying. Stateless apart from its name, so it is safe to share between threads.
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

  let name: String
  let gemm: HostGemm

  /// - Parameter gemm: nil: `HostGemm.resolve()` (the environment, then the CPU).
  init(gemm requested: HostGemm? = nil) throws {
    gemm = try HostGemm.resolve(requested)
    // Every op parallelises itself over `hostThreads`; each sgemm call is single-threaded.
    openblas_set_num_threads(1)
    switch gemm {
    case .packed:
      name = "cpu (packed AVX-512 GEMM, \(hostThreads) threads)"
    case .openBLAS:
      let core = openblas_get_corename().map { String(cString: $0) } ?? "?"
      name = "cpu (OpenBLAS \(core), \(hostThreads) threads)"
    }
  }

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

  func embed(
    out: FloatStorage, layout: Layout, batch: PackedBatch, word: FloatStorage, position: FloatStorage,
    type: FloatStorage, gamma: FloatStorage, beta: FloatStorage, hidden: Int, eps: Float
  ) throws {
    let o = out.pointer, w = word.pointer, p = position.pointer, ty = type.pointer
    let g = gamma.pointer, b = beta.pointer
    batch.ids.withUnsafeBufferPointer { ids in
      batch.positions.withUnsafeBufferPointer { positions in
        batch.segments.withUnsafeBufferPointer { segments in
          parallelChunks(batch.tokenCount, grain: 16) { range in
            for t in range {
              let row = o + t * hidden
              let wr = w + Int(ids[t]) * hidden
              let pr = p + Int(positions[t]) * hidden
              let tr = ty + Int(segments[t]) * hidden
              // Hugging Face's order: (word + token_type) + position.
              for j in 0..<hidden { row[j] = (wr[j] + tr[j]) + pr[j] }
              normalizeRow(row, row, hidden, g, b, eps)
            }
          }
        }
      }
    }
  }

  func linear(
    out: FloatStorage, input: FloatStorage, rows: Int, weight: Matrix, bias: FloatStorage,
    epilogue: Epilogue<FloatStorage>, activation: Activation
  ) throws {
    let n = weight.rows
    let k = weight.cols
    guard rows > 0 else { return }
    let o = out.pointer, x = input.pointer, w = weight.storage.pointer, b = bias.pointer
    let residual = { () -> UnsafeMutablePointer<Float>? in
      if case .biasResidual(let r) = epilogue { return r.pointer }
      return nil
    }()
    if gemm == .packed {
      packedLinear(o, x, rows: rows, n: n, k: k, w, b, residual, epilogue, activation)
      return
    }
    // sgemm overwrites `out` before the epilogue reads the residual: when they are the same
    // buffer, the epilogue reads a copy.
    let saved = residual == o ? FloatStorage(Array(UnsafeBufferPointer(start: o, count: rows * n))) : nil
    let blasResidual = saved?.pointer ?? residual
    defer { withExtendedLifetime(saved) {} }  // the copy outlives the blocks that read it
    // Blocks on our own threads, each a single-threaded sgemm followed by the epilogue while
    // the block is still in cache. (OpenBLAS's own pool would spin between calls and fight
    // the attention kernels' threads for the cores.) Many rows: blocks of rows; few rows
    // (short single inputs), where a row block would leave cores idle: blocks of columns.
    let rowBlock = max(64, (rows + 2 * hostThreads - 1) / (2 * hostThreads))
    if rows >= 2 * 64 || hostThreads == 1 {
      let blocks = (rows + rowBlock - 1) / rowBlock
      parallelItems(blocks) { i in
        let r0 = i * rowBlock
        let m = min(rowBlock, rows - r0)
        cblas_sgemm(
          CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1,
          x + r0 * k, Int32(k), w, Int32(k), 0, o + r0 * n, Int32(n))
        applyEpilogue(epilogue, rows: r0..<(r0 + m), columns: 0..<n, n: n, o, b, blasResidual, activation)
      }
    } else {
      let columnBlock = max(16, (n / hostThreads + 15) / 16 * 16)
      let blocks = (n + columnBlock - 1) / columnBlock
      parallelItems(blocks) { i in
        let c0 = i * columnBlock
        let width = min(columnBlock, n - c0)
        cblas_sgemm(
          CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(width), Int32(k), 1,
          x, Int32(k), w + c0 * k, Int32(k), 0, o + c0, Int32(n))
        applyEpilogue(epilogue, rows: 0..<rows, columns: c0..<(c0 + width), n: n, o, b, blasResidual, activation)
      }
    }
  }

  /// `linear` on the packed GEMM: blocks of rows on our threads (columns, in whole 64-wide
  /// panels, when there are too few rows to share), the epilogue fused into the kernel.
  private func packedLinear(
    _ o: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>, rows: Int, n: Int, k: Int,
    _ w: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>, _ residual: UnsafeMutablePointer<Float>?,
    _ epilogue: Epilogue<FloatStorage>, _ activation: Activation
  ) {
    let kind = epilogue.code
    let panel = Int(BS_GEMM_PANEL)
    func run(rows r0: Int, _ m: Int, columns c0: Int, _ width: Int) {
      bs_gemm(
        Int32(m), Int32(width), Int32(k), x + r0 * k, Int32(k), w + c0 * k, b + c0,
        residual.map { $0 + r0 * n + c0 }, Int32(n), kind, activation.rawValue, o + r0 * n + c0, Int32(n))
    }
    let panels = (n + panel - 1) / panel
    if rows >= 512 || hostThreads == 1 || panels == 1 {
      // About two blocks per thread for balance, in whole 6-row micro-panels.
      let rowBlock = (max(64, (rows + 2 * hostThreads - 1) / (2 * hostThreads)) + 5) / 6 * 6
      parallelItems((rows + rowBlock - 1) / rowBlock) { i in
        let r0 = i * rowBlock
        run(rows: r0, min(rowBlock, rows - r0), columns: 0, n)
      }
    } else {
      // Few rows (a sentence or two): one item per 64-column panel, so that the work spreads
      // evenly even when a worker thread wakes late (with one block per thread, a call of
      // half a millisecond often ran on one core).
      parallelItems(panels) { i in
        run(rows: 0, rows, columns: i * panel, min(panel, n - i * panel))
      }
    }
  }

  func attentionProbs(
    probs: FloatStorage, qkv: FloatStorage, layout: Layout, batch: PackedBatch, heads: Int, headDim d: Int,
    scale: Float, modes: [HeadMode]
  ) throws {
    let modes = try Self.headModes(modes, heads: heads, op: "attentionProbs")
    parallelItems(batch.count * heads) { item in
      let s = item / heads, h = item % heads
      attentionItem(qkv.pointer, batch, sequence: s, head: h, heads: heads, d: d, scale: scale, mode: modes[h],
        probs: probs.pointer, context: nil)
    }
  }

  func attentionContext(
    context: FloatStorage, probs: FloatStorage, qkv: FloatStorage, layout: Layout, batch: PackedBatch,
    heads: Int, headDim d: Int
  ) throws {
    parallelItems(batch.count * heads) { item in
      contextItem(qkv.pointer, batch, sequence: item / heads, head: item % heads, heads: heads, d: d,
        probs: probs.pointer, context: context.pointer)
    }
  }

  /// Probabilities and P·V per (sequence, head) in one pass: each block of six query rows
  /// is multiplied by V right after its softmax, while the rows are in L1, instead of
  /// reading 25 MB of probabilities back from memory per layer (batch 32 × 128).
  func attention(
    probs: FloatStorage, context: FloatStorage, qkv: FloatStorage, layout: Layout, batch: PackedBatch, heads: Int,
    headDim d: Int, scale: Float, modes: [HeadMode]
  ) throws {
    let modes = try Self.headModes(modes, heads: heads, op: "attention")
    parallelItems(batch.count * heads) { item in
      let s = item / heads, h = item % heads
      attentionItem(qkv.pointer, batch, sequence: s, head: h, heads: heads, d: d, scale: scale, mode: modes[h],
        probs: probs.pointer, context: context.pointer)
    }
  }

  /// As on OpenCL: no modes means every head normal; otherwise one mode per head.
  private static func headModes(_ modes: [HeadMode], heads: Int, op: String) throws -> [HeadMode] {
    guard modes.isEmpty || modes.count == heads else {
      throw BertScopeError.invalidInput("CPU backend: \(op): \(modes.count) head modes for \(heads) heads")
    }
    return modes.isEmpty ? Array(repeating: HeadMode.normal, count: heads) : modes
  }

  func attentionFeatures(
    out: FloatStorage, offset: Int, probs: FloatStorage, layout: Layout, batch: PackedBatch, heads: Int
  ) throws {
    let o = out.pointer + offset, pr = probs.pointer
    batch.kinds.withUnsafeBufferPointer { kinds in
      batch.segments.withUnsafeBufferPointer { segments in
        parallelItems(batch.count * heads) { item in
          let s = item / heads, h = item % heads
          let length = batch.lengths[s], first = batch.tokenOffsets[s]
          AttentionFeatures.compute(
            into: o + item * AttentionFeatures.count, map: pr + batch.probOffsets[s] + h * length * length,
            length: length, kinds: kinds.baseAddress! + first, segments: segments.baseAddress! + first,
            withinUniform: batch.withinUniform[s])
        }
      }
    }
  }

  func layerNorm(
    out: FloatStorage, input: FloatStorage, rows: Int, cols: Int, gamma: FloatStorage, beta: FloatStorage, eps: Float
  ) throws {
    let o = out.pointer, x = input.pointer, g = gamma.pointer, b = beta.pointer
    parallelChunks(rows, grain: 16) { range in
      for r in range { normalizeRow(o + r * cols, x + r * cols, cols, g, b, eps) }
    }
  }

  func read(_ buffer: FloatStorage, range: Range<Int>) throws -> [Float] {
    buffer.array(range)
  }

  func readStorage(_ buffer: FloatStorage, count: Int) throws -> FloatStorage {
    buffer  // no copy: the encoder hands this buffer out and never writes it again
  }
}

// MARK: - Attention, one (sequence, head) at a time

/// Attention probabilities of one (sequence, head) into its [L, L] map in `probs`; with
/// `context`, also its P·V rows (six at a time, straight after their softmax).
private func attentionItem(
  _ q: UnsafeMutablePointer<Float>, _ batch: PackedBatch, sequence s: Int, head h: Int, heads: Int, d: Int,
  scale: Float, mode: HeadMode, probs: UnsafeMutablePointer<Float>, context: UnsafeMutablePointer<Float>?
) {
  let length = batch.lengths[s], offset = batch.tokenOffsets[s]
  guard length > 0 else { return }
  let hiddenSize = heads * d, stride = 3 * hiddenSize
  let out = probs + batch.probOffsets[s] + h * length * length
  switch mode {
  case .uniform, .zero:
    out.update(repeating: mode == .uniform ? 1 / Float(length) : 0, count: length * length)
    if let context { contextItem(q, batch, sequence: s, head: h, heads: heads, d: d, probs: probs, context: context) }
    return
  case .normal:
    break
  }
  let padded = (length + 15) & ~15
  let dPadded = (d + 15) & ~15
  let scratch = UnsafeMutablePointer<Float>.allocate(capacity: d * padded + 6 * padded)
  defer { scratch.deallocate() }
  let kt = scratch, scores = scratch + d * padded
  // Kᵀ as [d][padded], zero beyond the sequence so whole 16-wide panels can be read.
  // Column-by-column so the stores are sequential (row-by-row stores stride through
  // kt and stall on 4K aliasing); the 2·L source cache lines stay in L1.
  let kBase = q + offset * stride + hiddenSize + h * d
  for p in 0..<d {
    let dst = kt + p * padded
    var src = kBase + p
    for j in 0..<length {
      dst[j] = src.pointee
      src += stride
    }
  }
  if padded > length {
    for p in 0..<d { (kt + p * padded + length).update(repeating: 0, count: padded - length) }
  }
  let v = context.map { _ in packV(q, offset: offset, length: length, stride: stride, column: 2 * hiddenSize + h * d, d: d) }
  defer { v?.deallocate() }
  let qBase = q + offset * stride + h * d
  var i = 0
  while i < length {
    let rowsHere = min(6, length - i)
    let a = sixRows(qBase, first: i, last: length - 1, stride: stride)
    var j0 = 0
    while j0 < padded {
      let t = tile6x16(d, a, kt + j0, padded)
      storeRows(t, rowsHere, scores + j0, padded)
      j0 += 16
    }
    for r in 0..<rowsHere {
      softmaxRow(scores + r * padded, length, padded, scale, out + (i + r) * length)
    }
    if let context, let v {
      contextRows(
        sixRows(out, first: i, last: length - 1, stride: length), rowsHere, length: length, v: v, dPadded: dPadded,
        d: d, into: context + (offset + i) * hiddenSize + h * d, rowStride: hiddenSize)
    }
    i += 6
  }
}

/// P·V of one (sequence, head) from its map in `probs`, into its columns of `context`.
private func contextItem(
  _ q: UnsafeMutablePointer<Float>, _ batch: PackedBatch, sequence s: Int, head h: Int, heads: Int, d: Int,
  probs: UnsafeMutablePointer<Float>, context: UnsafeMutablePointer<Float>
) {
  let length = batch.lengths[s], offset = batch.tokenOffsets[s]
  guard length > 0 else { return }
  let hiddenSize = heads * d, stride = 3 * hiddenSize
  let dPadded = (d + 15) & ~15
  let p = probs + batch.probOffsets[s] + h * length * length
  let v = packV(q, offset: offset, length: length, stride: stride, column: 2 * hiddenSize + h * d, d: d)
  defer { v.deallocate() }
  var i = 0
  while i < length {
    let rowsHere = min(6, length - i)
    contextRows(
      sixRows(p, first: i, last: length - 1, stride: length), rowsHere, length: length, v: v, dPadded: dPadded, d: d,
      into: context + (offset + i) * hiddenSize + h * d, rowStride: hiddenSize)
    i += 6
  }
}

/// One head's V rows (`length` rows of `d` floats at `column` of each token's qkv row) as
/// [length][dPadded], zero-padded columns; the caller deallocates.
private func packV(
  _ q: UnsafeMutablePointer<Float>, offset: Int, length: Int, stride: Int, column: Int, d: Int
) -> UnsafeMutablePointer<Float> {
  let dPadded = (d + 15) & ~15
  let v = UnsafeMutablePointer<Float>.allocate(capacity: length * dPadded)
  for k in 0..<length {
    let src = q + (offset + k) * stride + column
    (v + k * dPadded).update(from: src, count: d)
    if dPadded > d { (v + k * dPadded + d).update(repeating: 0, count: dPadded - d) }
  }
  return v
}

/// `rows` (≤ 6) rows of P·V: probability rows `a` (`length` floats each) times packed V.
@inline(__always)
private func contextRows(
  _ a: SixRows, _ rows: Int, length: Int, v: UnsafeMutablePointer<Float>, dPadded: Int, d: Int,
  into dst: UnsafeMutablePointer<Float>, rowStride: Int
) {
  var j0 = 0
  while j0 < d {
    let t = tile6x16(length, a, v + j0, dPadded)
    let cols = min(16, d - j0)
    if cols == 16 {
      storeRows(t, rows, dst + j0, rowStride)
    } else {
      storeRowsPartial(t, rows, cols, dst + j0, rowStride)
    }
    j0 += 16
  }
}

// MARK: - Kernels

typealias SixRows = (
  UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
  UnsafePointer<Float>
)

/// Rows `first…first+5` of a matrix at `base` with row stride `stride`; rows past `last`
/// repeat row `last` (their results are computed but not stored).
@inline(__always)
private func sixRows(_ base: UnsafePointer<Float>, first i: Int, last: Int, stride: Int) -> SixRows {
  (
    base + min(i, last) * stride, base + min(i + 1, last) * stride, base + min(i + 2, last) * stride,
    base + min(i + 3, last) * stride, base + min(i + 4, last) * stride, base + min(i + 5, last) * stride
  )
}

/// 6×16 block of `A·B`: rows `a` (k floats each) times `b` (k rows of ≥16 floats, row stride
/// `ldb`). Twelve AVX2 accumulators; the GEMM micro-kernel of QKᵀ and P·V.
@inline(__always)
private func tile6x16(_ k: Int, _ a: SixRows, _ b: UnsafePointer<Float>, _ ldb: Int) -> (F16x, F16x, F16x, F16x, F16x, F16x) {
  let (a0, a1, a2, a3, a4, a5) = a
  var c0 = F16x(), c1 = F16x(), c2 = F16x(), c3 = F16x(), c4 = F16x(), c5 = F16x()
  var bp = UnsafeRawPointer(b)
  let step = ldb * 4
  for p in 0..<k {
    let bv = bp.loadUnaligned(as: F16x.self)
    c0 = c0.addingProduct(a0[p], bv)
    c1 = c1.addingProduct(a1[p], bv)
    c2 = c2.addingProduct(a2[p], bv)
    c3 = c3.addingProduct(a3[p], bv)
    c4 = c4.addingProduct(a4[p], bv)
    c5 = c5.addingProduct(a5[p], bv)
    bp += step
  }
  return (c0, c1, c2, c3, c4, c5)
}

@inline(__always)
private func storeRows(
  _ t: (F16x, F16x, F16x, F16x, F16x, F16x), _ rows: Int, _ dst: UnsafeMutablePointer<Float>, _ ld: Int
) {
  let raw = UnsafeMutableRawPointer(dst)
  let step = ld * 4
  raw.storeBytes(of: t.0, as: F16x.self)
  if rows > 1 { (raw + step).storeBytes(of: t.1, as: F16x.self) }
  if rows > 2 { (raw + 2 * step).storeBytes(of: t.2, as: F16x.self) }
  if rows > 3 { (raw + 3 * step).storeBytes(of: t.3, as: F16x.self) }
  if rows > 4 { (raw + 4 * step).storeBytes(of: t.4, as: F16x.self) }
  if rows > 5 { (raw + 5 * step).storeBytes(of: t.5, as: F16x.self) }
}

private func storeRowsPartial(
  _ t: (F16x, F16x, F16x, F16x, F16x, F16x), _ rows: Int, _ cols: Int, _ dst: UnsafeMutablePointer<Float>, _ ld: Int
) {
  let all = [t.0, t.1, t.2, t.3, t.4, t.5]
  for r in 0..<rows {
    for c in 0..<cols { dst[r * ld + c] = all[r][c] }
  }
}

/// `out[0..<n] = softmax(scale · s[0..<n])`; `s` has room for `padded` (a multiple of 16)
/// floats and is used as scratch.
@inline(__always)
private func softmaxRow(
  _ s: UnsafeMutablePointer<Float>, _ n: Int, _ padded: Int, _ scale: Float, _ out: UnsafeMutablePointer<Float>
) {
  for j in n..<padded { s[j] = -.infinity }
  let raw = UnsafeMutableRawPointer(s)
  var m = F16x(repeating: -.infinity)
  var j = 0
  while j < padded {
    m = vmax(m, (raw + 4 * j).load(as: F16x.self))
    j += 16
  }
  let shift = hmax(m) * scale
  var sum = F16x()
  j = 0
  while j < padded {
    let e = vexpNonPositive((raw + 4 * j).load(as: F16x.self) * scale - shift)
    (raw + 4 * j).storeBytes(of: e, as: F16x.self)
    sum += e
    j += 16
  }
  let inverse = 1 / hsum(sum)
  j = 0
  let outRaw = UnsafeMutableRawPointer(out)
  while j + 16 <= n {
    (outRaw + 4 * j).storeBytes(of: (raw + 4 * j).load(as: F16x.self) * inverse, as: F16x.self)
    j += 16
  }
  while j < n {
    out[j] = s[j] * inverse
    j += 1
  }
}

/// LayerNorm of one row (`out` may equal `x`): mean and biased variance in two passes.
@inline(__always)
func normalizeRow(
  _ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int, _ gamma: UnsafePointer<Float>,
  _ beta: UnsafePointer<Float>, _ eps: Float
) {
  let raw = UnsafeRawPointer(x)
  var acc = F16x()
  var j = 0
  while j + 16 <= n {
    acc += (raw + 4 * j).loadUnaligned(as: F16x.self)
    j += 16
  }
  var sum = hsum(acc)
  while j < n {
    sum += x[j]
    j += 1
  }
  let mean = sum / Float(n)
  acc = F16x()
  j = 0
  while j + 16 <= n {
    let dv = (raw + 4 * j).loadUnaligned(as: F16x.self) - mean
    acc = acc.addingProduct(dv, dv)
    j += 16
  }
  var squares = hsum(acc)
  while j < n {
    let dv = x[j] - mean
    squares += dv * dv
    j += 1
  }
  let inverse = 1 / (squares / Float(n) + eps).squareRoot()
  let g = UnsafeRawPointer(gamma), b = UnsafeRawPointer(beta), o = UnsafeMutableRawPointer(out)
  j = 0
  while j + 16 <= n {
    let v = ((raw + 4 * j).loadUnaligned(as: F16x.self) - mean) * inverse
    let r = (b + 4 * j).loadUnaligned(as: F16x.self).addingProduct(v, (g + 4 * j).loadUnaligned(as: F16x.self))
    (o + 4 * j).storeBytes(of: r, as: F16x.self)
    j += 16
  }
  while j < n {
    out[j] = (x[j] - mean) * inverse * gamma[j] + beta[j]
    j += 1
  }
}

/// The epilogue of `linear` on `rows` × `columns` of the [*, n] output `o`.
@inline(__always)
private func applyEpilogue(
  _ epilogue: Epilogue<FloatStorage>, rows: Range<Int>, columns: Range<Int>, n: Int, _ o: UnsafeMutablePointer<Float>,
  _ b: UnsafeMutablePointer<Float>, _ residual: UnsafeMutablePointer<Float>?, _ activation: Activation
) {
  let width = columns.count, c0 = columns.lowerBound
  for r in rows {
    let row = o + r * n + c0
    switch epilogue {
    case .bias: addBias(row, b + c0, width)
    case .biasResidual: addBiasResidual(row, b + c0, residual! + r * n + c0, width)
    case .biasActivation: addBiasActivate(row, b + c0, width, activation)
    }
  }
}

@inline(__always)
private func addBias(_ row: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, _ n: Int) {
  let o = UnsafeMutableRawPointer(row), b = UnsafeRawPointer(bias)
  var j = 0
  while j + 16 <= n {
    (o + 4 * j).storeBytes(of: (o + 4 * j).loadUnaligned(as: F16x.self) + (b + 4 * j).loadUnaligned(as: F16x.self), as: F16x.self)
    j += 16
  }
  while j < n {
    row[j] += bias[j]
    j += 1
  }
}

@inline(__always)
private func addBiasResidual(
  _ row: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, _ residual: UnsafePointer<Float>, _ n: Int
) {
  let o = UnsafeMutableRawPointer(row), b = UnsafeRawPointer(bias), r = UnsafeRawPointer(residual)
  var j = 0
  while j + 16 <= n {
    // Hugging Face: LayerNorm(dense(x) + residual), dense(x) = x·Wᵀ + b.
    let v = ((o + 4 * j).loadUnaligned(as: F16x.self) + (b + 4 * j).loadUnaligned(as: F16x.self))
      + (r + 4 * j).loadUnaligned(as: F16x.self)
    (o + 4 * j).storeBytes(of: v, as: F16x.self)
    j += 16
  }
  while j < n {
    row[j] = (row[j] + bias[j]) + residual[j]
    j += 1
  }
}

@inline(__always)
private func addBiasActivate(_ row: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, _ n: Int, _ act: Activation) {
  let o = UnsafeMutableRawPointer(row), b = UnsafeRawPointer(bias)
  var j = 0
  while j + 16 <= n {
    let v = (o + 4 * j).loadUnaligned(as: F16x.self) + (b + 4 * j).loadUnaligned(as: F16x.self)
    let y: F16x
    switch act {
    case .gelu: y = vgelu(v)
    case .geluTanh: y = vgeluTanh(v)
    case .relu: y = vmax(v, F16x())
    }
    (o + 4 * j).storeBytes(of: y, as: F16x.self)
    j += 16
  }
  while j < n {
    let v = Double(row[j] + bias[j])
    switch act {
    case .gelu: row[j] = Float(0.5 * v * (1 + erf(v / 2.0.squareRoot())))
    case .geluTanh: row[j] = Float(0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v))))
    case .relu: row[j] = Float(max(v, 0))
    }
    j += 1
  }
}
