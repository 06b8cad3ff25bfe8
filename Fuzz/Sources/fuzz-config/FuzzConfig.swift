import BertScope
import Foundation
import FuzzSupport

/// `BertConfig(json:path:)` on arbitrary bytes. An accepted config is valid by its own rules:
/// sizes positive and bounded, heads dividing the hidden size, a known activation.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
  let data = Fuzz.data(start, count)
  guard let c = Fuzz.expectTypedError({ try BertConfig(json: data, path: "config.json") }) else { return 0 }
  Fuzz.check(Fuzz.expectTypedError({ try c.validate() }) != nil, "accepted config fails validate()")
  for size in [c.vocabSize, c.hiddenSize, c.numLayers, c.numHeads, c.intermediateSize, c.maxPositions, c.typeVocabSize]
  {
    Fuzz.check(size > 0 && size <= 1 << 24, "size \(size) accepted")
  }
  Fuzz.check(c.headDim * c.numHeads == c.hiddenSize, "heads do not divide hidden")
  Fuzz.check(c.layerNormEps.isFinite && c.layerNormEps >= 0, "eps \(c.layerNormEps)")
  if let labels = c.labels { Fuzz.check(c.numLabels != nil && !labels.isEmpty, "labels without numLabels") }
  return 0
}
