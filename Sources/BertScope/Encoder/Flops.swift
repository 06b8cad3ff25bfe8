/// Floating-point operations of one forward pass (a multiply-add counts 2), for reporting
/// GFLOPS: every GEMM (QKV, attention output, FFN up and down) plus QKᵀ and P·V.
/// Element-wise work (softmax, GELU, LayerNorm) is not counted.
public func forwardFLOPs(_ config: BertConfig, lengths: [Int]) -> Double {
  let h = Double(config.hiddenSize), inner = Double(config.intermediateSize)
  var total = 0.0
  for l in lengths {
    let t = Double(l)
    let gemms = 2 * t * h * (3 * h + h + 2 * inner)
    let attention = 2 * 2 * t * t * h
    total += Double(config.numLayers) * (gemms + attention)
  }
  return total
}
