import BertScope
import Foundation
import FuzzSupport

/// `BertWeights(file:config:)` over a parsed safetensors image, with the config of the seed
/// images (Fuzz/Corpus/fuzz-weights, written by Fuzz/make-seeds.py): hidden 4, 2 heads, 1
/// layer, FFN 8, 8 positions, vocabulary 8. Loaded weights must have the config's sizes.
let config = BertConfig(vocabSize: 8, hiddenSize: 4, numLayers: 1, numHeads: 2, intermediateSize: 8, maxPositions: 8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWeights(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
  let bytes = UnsafeRawBufferPointer(start: start, count: start == nil ? 0 : count)
  guard let file = Fuzz.expectTypedError({ try SafeTensorsFile(bytes: bytes, path: "fuzz.safetensors") }) else {
    return 0
  }
  guard let w = Fuzz.expectTypedError({ try BertWeights(file: file, config: config) }) else { return 0 }
  let h = config.hiddenSize
  Fuzz.check(w.wordEmbeddings.count == config.vocabSize * h, "word embeddings")
  Fuzz.check(w.positionEmbeddings.count == config.maxPositions * h, "position embeddings")
  Fuzz.check(w.tokenTypeEmbeddings.count == config.typeVocabSize * h, "token type embeddings")
  Fuzz.check(w.embeddingNormGamma.count == h && w.embeddingNormBeta.count == h, "embedding LayerNorm")
  Fuzz.check(w.layers.count == config.numLayers, "\(w.layers.count) layers")
  for l in w.layers {
    Fuzz.check(l.qkvWeight.count == 3 * h * h && l.qkvBias.count == 3 * h, "qkv")
    Fuzz.check(
      l.intermediateWeight.count == config.intermediateSize * h && l.outputWeight.count == h * config.intermediateSize,
      "ffn")
  }
  if let pooler = w.pooler { Fuzz.check(pooler.weight.count == h * h && pooler.bias.count == h, "pooler") }
  if let head = w.head {
    Fuzz.check(head.dense.weight.count == h * h && head.dense.bias.count == h, "classification head dense")
    Fuzz.check(head.output.weight.count == head.labels * h && head.labels > 0, "classification head output")
  }
  let all =
    [w.wordEmbeddings, w.positionEmbeddings, w.tokenTypeEmbeddings]
    + w.layers.flatMap { [$0.qkvWeight, $0.outputWeight] }
  Fuzz.check(all.allSatisfy { $0.allSatisfy(\.isFinite) }, "non-finite weights were accepted")
  return 0
}
