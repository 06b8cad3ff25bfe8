import Foundation

// The pairwise head distances computed on the device (head_distances.cl).
extension OpenCLBackend {
  func headDistances(
    out: OpenCLBuffer, entropies: OpenCLBuffer, probs: OpenCLBuffer, layers: Int, layout: OpenCLLayout,
    batch: PackedBatch, heads: Int
  ) throws {
    let count = layers * heads
    try require(
      out.count >= batch.count * count * count && entropies.count >= batch.count * count * 2,
      "headDistances: out or entropies too small for \(batch.count) sequences × \(count)² heads")
    try require(
      batch.heads == heads && probs.count >= layers * batch.probCount && layout.sequenceCount == batch.count,
      "headDistances: probs or layout do not match the batch")
    guard batch.count > 0, count > 1 else { return }
    try locked {
      let e = try kernel("head_distances.cl", "kernel_head_entropies", options: "")
      try enqueue(
        e,
        [
          .buffer(entropies), .buffer(probs), .buffer(layout.lengths), .buffer(layout.probOffsets),
          .int(batch.probCount), .int(batch.count), .int(heads), .int(count),
        ], global: [count, batch.count], local: [1, 1])
      let d = try kernel("head_distances.cl", "kernel_head_distances", options: "")
      let width = config.variant == .cpu ? 8 : 32
      try enqueue(
        d,
        [
          .buffer(out), .buffer(entropies), .buffer(probs), .buffer(layout.lengths), .buffer(layout.probOffsets),
          .int(batch.probCount), .int(batch.count), .int(heads), .int(count),
        ], global: [count, count, batch.count], local: [min(width, count), 1, 1])
    }
  }
}
