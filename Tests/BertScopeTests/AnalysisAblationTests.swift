import BertScopeAnalysis
import Foundation
import Testing

@testable import BertScope

/// A plain double-precision BERT forward pass written from the Hugging Face definition,
/// independent of the encoder's backends, with per-head attention modes.
enum ReferenceBert {
  /// Last hidden state `[L, H]` of one sequence.
  static func forward(_ w: BertWeights, ids: [Int32], segments: [Int32], modes: [[HeadMode]]) -> [[Double]] {
    let c = w.config
    let n = ids.count, h = c.hiddenSize, nh = c.numHeads, d = h / nh
    let eps = Double(c.layerNormEps)
    func layerNorm(_ x: [Double], _ g: [Float], _ b: [Float]) -> [Double] {
      let mean = x.reduce(0, +) / Double(x.count)
      let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count)
      return x.indices.map { (x[$0] - mean) / (variance + eps).squareRoot() * Double(g[$0]) + Double(b[$0]) }
    }
    func linear(_ x: [Double], _ weight: [Float], _ bias: [Float], rows: Int) -> [Double] {
      (0..<rows).map { r in
        var acc = Double(bias[r])
        for k in x.indices { acc += Double(weight[r * x.count + k]) * x[k] }
        return acc
      }
    }
    var x: [[Double]] = (0..<n).map { t in
      let e = (0..<h).map {
        Double(w.wordEmbeddings[Int(ids[t]) * h + $0]) + Double(w.positionEmbeddings[t * h + $0])
          + Double(w.tokenTypeEmbeddings[Int(segments[t]) * h + $0])
      }
      return layerNorm(e, w.embeddingNormGamma, w.embeddingNormBeta)
    }
    for (l, layer) in w.layers.enumerated() {
      let qkv = x.map { linear($0, layer.qkvWeight, layer.qkvBias, rows: 3 * h) }
      var context = [[Double]](repeating: [Double](repeating: 0, count: h), count: n)
      for head in 0..<nh {
        for i in 0..<n {
          var p = (0..<n).map { j in
            (0..<d).reduce(0.0) { $0 + qkv[i][head * d + $1] * qkv[j][h + head * d + $1] } / Double(d).squareRoot()
          }
          let m = p.max()!
          p = p.map { exp($0 - m) }
          let s = p.reduce(0, +)
          p = p.map { $0 / s }
          switch modes[l][head] {
          case .normal: break
          case .uniform: p = Array(repeating: 1 / Double(n), count: n)
          case .zero: p = Array(repeating: 0, count: n)
          }
          for k in 0..<d {
            context[i][head * d + k] = (0..<n).reduce(0.0) { $0 + p[$1] * qkv[$1][2 * h + head * d + k] }
          }
        }
      }
      x = (0..<n).map { t in
        let a = linear(context[t], layer.attentionOutputWeight, layer.attentionOutputBias, rows: h)
        let y = layerNorm(zip(a, x[t]).map { $0 + $1 }, layer.attentionNormGamma, layer.attentionNormBeta)
        let f = linear(y, layer.intermediateWeight, layer.intermediateBias, rows: c.intermediateSize).map {
          0.5 * $0 * (1 + erf($0 / 2.0.squareRoot()))
        }
        let o = linear(f, layer.outputWeight, layer.outputBias, rows: h)
        return layerNorm(zip(o, y).map { $0 + $1 }, layer.outputNormGamma, layer.outputNormBeta)
      }
    }
    return x
  }

  /// Mean over tokens, L2-normalised.
  static func pooled(_ hidden: [[Double]]) -> [Float] {
    let h = hidden[0].count
    let mean = (0..<h).map { k in hidden.reduce(0.0) { $0 + $1[k] } / Double(hidden.count) }
    let norm = mean.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return mean.map { Float($0 / norm) }
  }
}

@Suite("Analysis: disabling heads and layers")
struct AnalysisAblationTests {
  static let targets = [
    AblationTarget(layer: 0, head: 1), AblationTarget(layer: 1, head: 3), AblationTarget(layer: 1, head: nil),
  ]

  @Test(
    "uniform and zero ablation match an independent double-precision forward pass",
    arguments: [AblationMode.uniform, .zero], TestBackends.available)
  func matchesReference(_ mode: AblationMode, backend: BackendKind) async throws {
    let model = try await ModelCache.shared.model(Fixtures.tiny)
    let encoder = try Encoder(model: model, backend: backend)
    let c = model.config
    let encodings = try AnalysisCorpus.encodings(model, 0..<4)
    let intactModes = [[HeadMode]](repeating: [HeadMode](repeating: .normal, count: c.numHeads), count: c.numLayers)
    let analysis = AblationAnalysis(task: .embeddingChange, mode: mode, targets: Self.targets)
    var state = try analysis.makeState(encoder: encoder)
    try analysis.add(encodings.map { AblationItem(first: $0) }, encoder: encoder, to: &state)
    let report = AblationResult(state, info: .unknown(layers: c.numLayers, heads: c.numHeads))
    #expect(report.baseline == 0)
    for (k, target) in Self.targets.enumerated() {
      let modes = target.headModes(layers: c.numLayers, heads: c.numHeads, mode: mode)
      var change = 0.0
      for e in encodings {
        let ablated = ReferenceBert.forward(model.weights, ids: e.ids, segments: e.segments, modes: modes)
        let intact = ReferenceBert.forward(model.weights, ids: e.ids, segments: e.segments, modes: intactModes)
        let out = try encoder.encode([e], options: EncodeOptions(headModes: modes))
        expectClose(out.hiddenState(0), ablated.flatMap { $0.map(Float.init) }, atol: 1e-4, "hidden, \(mode) \(target)")
        change += 1 - Statistics.cosine(ReferenceBert.pooled(ablated), ReferenceBert.pooled(intact))
      }
      change /= Double(encodings.count)
      #expect(abs(report.rows[k].metric - change) < 1e-5, "\(target): \(report.rows[k].metric) vs \(change)")
      #expect(report.rows[k].metric > 1e-4, "disabling \(target) changed nothing")
    }
  }

  @Test("uniform attention really is 1/L over the real tokens in the returned maps")
  func uniformMaps() async throws {
    let model = try await ModelCache.shared.model(Fixtures.tiny)
    let encoder = try Encoder(model: model, backend: .cpu)
    let e = try model.tokenizer.encode("the cat sat on the mat")
    let modes = AblationTarget(layer: 1, head: 2).headModes(layers: 2, heads: 4, mode: .uniform)
    let out = try encoder.encode([e], options: EncodeOptions(maps: .all, headModes: modes))
    let map = try #require(out.maps[0].map(layer: 1, head: 2))
    #expect(map.allSatisfy { abs($0 - 1 / Float(e.count)) < 1e-7 })
  }

  @Test("every head and every layer, in CSV order: L1H1 … L1Hn, L1 all, L2H1 …")
  func csvLayout() async throws {
    let model = try await ModelCache.shared.model(Fixtures.tiny)
    let encoder = try Encoder(model: model, backend: .cpu)
    let analysis = AblationAnalysis(task: .embeddingChange, mode: .zero)
    var state = try analysis.makeState(encoder: encoder)
    try analysis.add(
      try AnalysisCorpus.encodings(model, 0..<2).map { AblationItem(first: $0) }, encoder: encoder, to: &state)
    let report = AblationResult(state, info: .unknown(layers: 2, heads: 4))
    #expect(state.targets.count == 2 * 4 + 2 && report.forwardPasses == 1 + 10 && state.examples == 2)
    let lines = report.tables[0].text.split(separator: "\n").map(String.init)
    #expect(lines[0] == "layer,head,metric,delta")
    #expect(
      lines.dropFirst().map { $0.split(separator: ",").prefix(2).joined(separator: ",") } == [
        "1,1", "1,2", "1,3", "1,4", "1,all", "2,1", "2,2", "2,3", "2,4", "2,all",
      ])
  }

  @Test("similarity: the baseline is Spearman's rho of the intact cosines; deltas are metric − baseline")
  func similarity() async throws {
    let model = try await ModelCache.shared.model(Fixtures.tiny)
    let encoder = try Encoder(model: model, backend: .cpu)
    let pairs: [(String, String, Double)] = [
      ("the cat sat", "a cat sat", 4), ("we will go", "they are not here", 1), ("how are you", "how are you", 5),
      ("time and again", "the end", 2), ("it is what it is", "so it goes", 3),
    ]
    let items = try pairs.map {
      AblationItem(first: try model.tokenizer.encode($0.0), second: try model.tokenizer.encode($0.1), score: $0.2)
    }
    let analysis = AblationAnalysis(task: .similarity, mode: .uniform, targets: [AblationTarget(layer: 0, head: nil)])
    // Two parts, each run on its own state, merged: the same as one run over all pairs.
    var first = try analysis.makeState(encoder: encoder)
    try analysis.add(Array(items[0..<2]), encoder: encoder, to: &first)
    var second = try analysis.makeState(encoder: encoder)
    try analysis.add(Array(items[2...]), encoder: encoder, to: &second)
    var whole = try analysis.makeState(encoder: encoder)
    try analysis.add(items, encoder: encoder, to: &whole)
    let merged = try first.merged(with: second)
    #expect(merged.scores == whole.scores && merged.examples == whole.examples && merged.forwardPasses == 4)
    // The same pairs in other batches: equal up to the GEMMs' float rounding.
    for (m, w) in zip(merged.cosines, whole.cosines) { expectClose(m, w, atol: 1e-6, "cosines") }
    let out = try encoder.encode(items.flatMap { [$0.first, $0.second!] })
    let cosines = pairs.indices.map { Statistics.cosine(out.embedding(2 * $0), out.embedding(2 * $0 + 1)) }
    let report = AblationResult(merged, info: .unknown(layers: 2, heads: 4))
    #expect(abs(report.baseline - Statistics.spearman(cosines, pairs.map(\.2))) < 1e-9)
    #expect(abs(report.rows[0].delta - (report.rows[0].metric - report.baseline)) < 1e-12)
    #expect(report.metric == .spearman)
    let json = try AnalysisJSON.text(report)
    #expect(json.contains("\"metric\" : \"spearman\""), "\(json)")
  }

  @Test("classify: accuracy of the checkpoint's own logits (tiny BERT with a classifier)")
  func classify() async throws {
    let model = try await ModelCache.shared.model(Fixtures.model("tiny-bert-prefixed"))
    let encoder = try Encoder(model: model, backend: .cpu)
    let encodings = try AnalysisCorpus.encodings(model, 0..<6)
    let logits = try encoder.logits(try encoder.encode(encodings))
    let predicted = (0..<6).map { logits[2 * $0] >= logits[2 * $0 + 1] ? 0 : 1 }
    let labels = [predicted[0], predicted[1], 1 - predicted[2], predicted[3], predicted[4], 1 - predicted[5]]
    let analysis = AblationAnalysis(task: .classify, mode: .uniform, targets: [AblationTarget(layer: 1, head: 0)])
    var state = try analysis.makeState(encoder: encoder)
    try analysis.add(zip(encodings, labels).map { AblationItem(first: $0, label: $1) }, encoder: encoder, to: &state)
    #expect(abs(state.metric(0) - 4.0 / 6) < 1e-12)
  }
}
