import CHostKernels

// Attention per (sequence, head), one item per pair on `hostThreads` threads; the kernels
// (`bs_attention_head`, `bs_attention_context_head`) work on one head's rows in place in qkv.
extension CPUBackend {
  func attentionProbs(
    probs: FloatStorage, qkv: FloatStorage, layout: Layout, batch: PackedBatch, heads: Int, headDim d: Int,
    scale: Float, modes: [HeadMode]
  ) throws {
    let modes = try Self.headModes(modes, heads: heads, op: "attentionProbs")
    attentionHeads(
      qkv.pointer, batch, heads: heads, d: d, scale: scale, modes: modes, probs: probs.pointer, context: nil)
  }

  func attentionContext(
    context: FloatStorage, probs: FloatStorage, qkv: FloatStorage, layout: Layout, batch: PackedBatch,
    heads: Int, headDim d: Int
  ) throws {
    let level = kernels.level
    let q = qkv.pointer, p = probs.pointer, c = context.pointer
    let hidden = heads * d, ld = 3 * hidden
    parallelItems(batch.count * heads) { item in
      let s = item / heads, h = item % heads
      let length = batch.lengths[s], offset = batch.tokenOffsets[s]
      guard length > 0 else { return }
      withScratch(length: length, d: d) { scratch in
        bs_attention_context_head(
          level, p + batch.probOffsets[s] + h * length * length, q + offset * ld + 2 * hidden + h * d, ld, length,
          d, c + offset * hidden + h * d, hidden, scratch)
      }
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
    attentionHeads(
      qkv.pointer, batch, heads: heads, d: d, scale: scale, modes: modes, probs: probs.pointer,
      context: context.pointer)
  }

  /// `attention`'s context without writing the probabilities: each block of six rows'
  /// probabilities stays in the head's scratch (the same arithmetic, so the same context).
  func attentionContextOnly(
    context: FloatStorage, qkv: FloatStorage, layout: Layout, batch: PackedBatch, heads: Int, headDim d: Int,
    scale: Float, modes: [HeadMode]
  ) throws {
    let modes = try Self.headModes(modes, heads: heads, op: "attentionContextOnly")
    attentionHeads(
      qkv.pointer, batch, heads: heads, d: d, scale: scale, modes: modes, probs: nil, context: context.pointer)
  }

  /// As on OpenCL: no modes means every head normal; otherwise one mode per head.
  private static func headModes(_ modes: [HeadMode], heads: Int, op: String) throws -> [HeadMode] {
    guard modes.isEmpty || modes.count == heads else {
      throw BertScopeError.invalidInput("CPU backend: \(op): \(modes.count) head modes for \(heads) heads")
    }
    return modes.isEmpty ? Array(repeating: HeadMode.normal, count: heads) : modes
  }

  /// Every (sequence, head)'s probabilities into `probs` ([nh, L, L] per sequence at its
  /// `probOffsets`; nil: not kept) and, with `context` ([T, H]), its P·V.
  private func attentionHeads(
    _ qkv: UnsafeMutablePointer<Float>, _ batch: PackedBatch, heads: Int, d: Int, scale: Float, modes: [HeadMode],
    probs: UnsafeMutablePointer<Float>?, context: UnsafeMutablePointer<Float>?
  ) {
    let level = kernels.level
    let hidden = heads * d, ld = 3 * hidden
    parallelItems(batch.count * heads) { item in
      let s = item / heads, h = item % heads
      let length = batch.lengths[s], offset = batch.tokenOffsets[s]
      guard length > 0 else { return }
      // Head h's Q, K and V columns in the sequence's first qkv row.
      let q = qkv + offset * ld + h * d
      withScratch(length: length, d: d) { scratch in
        bs_attention_head(
          level, q, q + hidden, q + 2 * hidden, ld, length, d, scale, modes[h].rawValue,
          probs.map { $0 + batch.probOffsets[s] + h * length * length }, context.map { $0 + offset * hidden + h * d },
          hidden,
          scratch)
      }
    }
  }
}

/// Runs `body` with the kernels' scratch for one head (`bs_attention_scratch_floats`),
/// 64-byte aligned so that the 16-float panels sit in whole cache lines.
private func withScratch(length: Int, d: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) {
  let floats = max(bs_attention_scratch_floats(length, d), 16)
  let raw = UnsafeMutableRawPointer.allocate(byteCount: floats * 4, alignment: 64)
  defer { raw.deallocate() }
  body(raw.bindMemory(to: Float.self, capacity: floats))
}
