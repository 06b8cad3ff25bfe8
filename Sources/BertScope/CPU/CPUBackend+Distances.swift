// The pairwise head distances (`HeadDistances`) of every sequence of a batch, on
// `hostThreads` threads: the per-head entropy sums first (one item per (sequence, head)),
// then one item per (sequence, head a) for every b > a. In double throughout; the results are
// stored as float like the OpenCL backend's.
extension CPUBackend {
  func headDistances(
    out: FloatStorage, entropies: FloatStorage, probs: FloatStorage, layers: Int, layout: Layout, batch: PackedBatch,
    heads: Int
  ) throws {
    let count = layers * heads
    guard out.count >= batch.count * count * count, entropies.count >= batch.count * count * 2,
      probs.count >= layers * batch.probCount, batch.heads == heads
    else {
      throw BertScopeError.invalidInput("CPU backend: headDistances buffers do not match the batch")
    }
    guard batch.count > 0, count > 1 else { return }
    let pr = probs.pointer, o = out.pointer, stride = batch.probCount
    var sums = [Double](repeating: 0, count: batch.count * count)
    func map(_ s: Int, _ k: Int) -> UnsafeMutablePointer<Float> {
      let n = batch.lengths[s]
      return pr + (k / heads) * stride + batch.probOffsets[s] + (k % heads) * n * n
    }
    sums.withUnsafeMutableBufferPointer { e in
      let ep = e.baseAddress!
      parallelItems(batch.count * count) { item in
        let s = item / count, k = item % count
        ep[item] = HeadDistances.entropySum(map: map(s, k), length: batch.lengths[s])
      }
    }
    // The pairs' work shrinks with a: interleave long and short items.
    sums.withUnsafeBufferPointer { e in
      let ep = e.baseAddress!
      parallelItems(batch.count * count) { item in
        let s = item / count, r = item % count
        let a = r % 2 == 0 ? r / 2 : count - 1 - r / 2
        let n = batch.lengths[s]
        for b in (a + 1)..<max(a + 1, count) {
          let h = HeadDistances.mixtureEntropySum(map(s, a), map(s, b), length: n)
          let d = h - 0.5 * (ep[s * count + a] + ep[s * count + b])
          o[(s * count + a) * count + b] = Float(d)
        }
      }
    }
    for (i, v) in sums.enumerated() {
      let hi = Float(v)
      entropies.pointer[2 * i] = hi
      entropies.pointer[2 * i + 1] = Float(v - Double(hi))
    }
  }
}
