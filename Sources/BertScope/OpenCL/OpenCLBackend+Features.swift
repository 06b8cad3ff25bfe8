import Foundation

// The attention-map features computed on the device (attention_features.cl).
extension OpenCLBackend {
  func attentionFeatures(
    out: OpenCLBuffer, offset: Int, probs: OpenCLBuffer, layout: OpenCLLayout, batch: PackedBatch, heads: Int
  ) throws {
    let needed = offset + batch.count * heads * AttentionFeatures.count
    try require(offset >= 0 && out.count >= needed, "attentionFeatures: out holds \(out.count) floats, needs \(needed)")
    try require(
      batch.heads == heads && probs.count >= batch.probCount && layout.sequenceCount == batch.count,
      "attentionFeatures: probs or layout do not match the batch")
    guard batch.count > 0 else { return }
    try locked {
      let args: [Arg] = [
        .buffer(out), .int(offset), .buffer(probs), .buffer(layout.kinds), .buffer(layout.segments),
        .buffer(layout.lengths), .buffer(layout.tokenOffsets), .buffer(layout.probOffsets),
        .buffer(layout.withinUniform), .int(batch.count), .int(heads),
      ]
      if config.variant == .cpu {
        let k = try kernel("attention_features.cl", "kernel_attention_features_cpu", options: "")
        try enqueue(k, args, global: [batch.count, heads], local: [1, 1])
      } else {
        let k = try kernel("attention_features.cl", "kernel_attention_features_gpu", options: config.reductionOptions)
        try enqueue(k, args, global: [batch.count * config.reductionGroup, heads], local: [config.reductionGroup, 1])
      }
    }
  }
}
