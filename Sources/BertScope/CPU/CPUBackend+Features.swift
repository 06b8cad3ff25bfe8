// The `AttentionFeatures` of every map of a layer, one (sequence, head) per item on
// `hostThreads` threads.
extension CPUBackend {
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
}
