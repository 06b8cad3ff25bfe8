import BertScopeAnalysis
import Foundation
import Testing

@testable import BertScope

/// A plain double-precision BERT forward pass written from the Hugging Face definition,
/// independent of the encoder's backends, with per-head attention modes.
enum ReferenceBert {
  /// Last hidden state `[L, H]` of one sequence; with `layers`, the output of the first
  /// `layers` layers only (0: the embeddings), the input of layer `layers`.
  static func forward(
    _ w: BertWeights, ids: [Int32], segments: [Int32], modes: [[HeadMode]], layers: Int? = nil
  ) -> [[Double]] {
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
    for (l, layer) in w.layers.prefix(layers ?? w.layers.count).enumerated() {
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
    #expect(state.forwardPasses == 1 + Self.targets.count)
    for (k, target) in Self.targets.enumerated() {
      let modes = target.headModes(layers: c.numLayers, heads: c.numHeads, mode: mode)
      var change = 0.0
      for e in encodings {
        let ablated = ReferenceBert.forward(model.weights, ids: e.ids, segments: e.segments, modes: modes)
        let intact = ReferenceBert.forward(model.weights, ids: e.ids, segments: e.segments, modes: intactModes)
        let out = try encoder.encode([e], options: EncodeOptions(headModes: modes))
        expectClose(out.hiddenState(0), ablated.flatMap { $0.map(Float.init) }, atol: 1e-4, "hidden, \(mode) \(target)")
        // What `add` runs: the target's layer on from the intact pass's input to it.
        let states = try #require(try encoder.encode([e], options: EncodeOptions(hiddenStates: true)).hiddenStates)
        let partial = try encoder.encode(
          [e], options: EncodeOptions(headModes: modes), fromLayer: target.layer, states: states)
        expectClose(
          partial.hiddenState(0), ablated.flatMap { $0.map(Float.init) }, atol: 1e-4,
          "hidden from layer \(target.layer + 1), \(mode) \(target)")
        change += 1 - Statistics.cosine(ReferenceBert.pooled(ablated), ReferenceBert.pooled(intact))
      }
      change /= Double(encodings.count)
      #expect(abs(report.rows[k].metric - change) < 1e-5, "\(target): \(report.rows[k].metric) vs \(change)")
      #expect(report.rows[k].metric > 1e-4, "disabling \(target) changed nothing")
    }
  }

  /// The models a pass from a layer is checked on: the tiny one, and MiniLM (6 layers) when
  /// it is installed.
  static let startModels: [String] = ["tiny-bert"] + (Fixtures.hasMiniLM ? ["all-MiniLM-L6-v2"] : [])

  @Test(
    "a pass started at layer l from the intact pass's hidden states equals a full pass with the same head modes",
    arguments: startModels, TestBackends.available)
  func passFromLayer(_ name: String, backend: BackendKind) async throws {
    let model = try await ModelCache.shared.model(name == "tiny-bert" ? Fixtures.tiny : try #require(Fixtures.miniLM))
    let encoder = try Encoder(model: model, backend: backend)
    let c = model.config, nl = c.numLayers, nh = c.numHeads
    // Mixed lengths and pairs, so that rows of one sequence cannot be taken for another's.
    let encodings = try AnalysisCorpus.encodings(model)
    let intact = try encoder.encode(encodings, options: EncodeOptions(hiddenStates: true))
    let states = try #require(intact.hiddenStates)
    #expect(states.boundaries == 0...nl && states.tokenCount == intact.hidden.count / c.hiddenSize)
    #expect(Array(try #require(states.input(ofLayer: nl))) == intact.hidden.array(), "the last boundary is the output")
    for l in 0...nl {
      // Normal below l (what the intact states reflect); from l on, a mix of modes.
      var modes = [[HeadMode]](repeating: [HeadMode](repeating: .normal, count: nh), count: nl)
      for layer in l..<nl {
        modes[layer][(layer + 1) % nh] = .uniform
        modes[layer][(layer + 2) % nh] = .zero
      }
      let options = EncodeOptions(
        maps: l < nl ? .select(layers: Array(l..<nl), heads: nil) : .none, headModes: modes, hiddenStates: true)
      let full = try encoder.encode(encodings, options: options)
      let partial = try encoder.encode(encodings, options: options, fromLayer: l, states: states)
      let label = "\(name), \(backend), from layer \(l + 1)"
      #expect(partial.lengths == full.lengths && partial.tokenOffsets == full.tokenOffsets, "\(label)")
      expectClose(partial.hidden.array(), full.hidden.array(), atol: 1e-5, "\(label): hidden")
      expectClose(partial.pooled, full.pooled, atol: 1e-5, "\(label): pooled")
      #expect(partial.maps.count == full.maps.count, "\(label): maps")
      for (a, b) in zip(partial.maps, full.maps) {
        #expect(a.layers == Array(l..<nl) && a.layers == b.layers && a.heads == b.heads, "\(label)")
        expectClose(a.values(), b.values(), atol: 1e-5, "\(label): maps")
      }
      let kept = try #require(partial.hiddenStates), all = try #require(full.hiddenStates)
      #expect(kept.boundaries == l...nl, "\(label)")
      #expect(Array(try #require(kept.input(ofLayer: l))) == Array(try #require(states.input(ofLayer: l))), "\(label)")
      for b in l...nl {
        expectClose(
          try #require(kept.input(ofLayer: b)), try #require(all.input(ofLayer: b)), atol: 1e-5,
          "\(label): boundary \(b)")
      }
      #expect(kept.input(ofLayer: l - 1) == nil && kept.input(ofLayer: nl + 1) == nil, "\(label)")
      if l < nl {
        // The disabled heads matter: the same pass with every head normal is another result.
        let normal = try encoder.encode(encodings, fromLayer: l, states: states)
        #expect(maxAbsDiff(normal.hidden.array(), partial.hidden.array()) > 1e-3, "\(label): modes ignored")
      }
    }
  }

  @Test(
    "the hidden states at the layer boundaries match an independent double-precision pass",
    arguments: TestBackends.available)
  func hiddenStatesMatchReference(_ backend: BackendKind) async throws {
    let model = try await ModelCache.shared.model(Fixtures.tiny)
    let encoder = try Encoder(model: model, backend: backend)
    let c = model.config
    let normal = [[HeadMode]](repeating: [HeadMode](repeating: .normal, count: c.numHeads), count: c.numLayers)
    let encodings = try AnalysisCorpus.encodings(model, 0..<5)
    let out = try encoder.encode(encodings, options: EncodeOptions(hiddenStates: true))
    let states = try #require(out.hiddenStates)
    for b in 0...c.numLayers {
      let expected = encodings.flatMap { e in
        ReferenceBert.forward(model.weights, ids: e.ids, segments: e.segments, modes: normal, layers: b)
          .flatMap { $0.map(Float.init) }
      }
      expectClose(try #require(states.input(ofLayer: b)), expected, atol: 1e-4, "\(backend): boundary \(b)")
    }
    #expect(try encoder.encode(encodings).hiddenStates == nil, "kept only when asked for")
  }

  @Test("a pass from a layer refuses what it cannot give, with an error", arguments: TestBackends.available)
  func passFromLayerRefusals(_ backend: BackendKind) async throws {
    let model = try await ModelCache.shared.model(Fixtures.tiny)
    let encoder = try Encoder(model: model, backend: backend)
    let c = model.config
    let encodings = try AnalysisCorpus.encodings(model, 0..<3)
    let states = try #require(try encoder.encode(encodings, options: EncodeOptions(hiddenStates: true)).hiddenStates)
    let input = Array(try #require(states.input(ofLayer: 1)))
    func refuses(_ what: String, _ fragment: String, _ body: () throws -> EncoderOutput) {
      do {
        _ = try body()
        Issue.record("\(backend): \(what) succeeded")
      } catch {
        #expect("\(error)".contains(fragment), "\(backend): \(what): \(error)")
      }
    }
    refuses("a hidden state one row short", "floats") {
      try input.dropLast(c.hiddenSize).withUnsafeBufferPointer {
        try encoder.encode(encodings, fromLayer: 1, hidden: $0)
      }
    }
    refuses("the states of other encodings", "floats") {
      try input.withUnsafeBufferPointer { try encoder.encode(Array(encodings.dropLast()), fromLayer: 1, hidden: $0) }
    }
    for layer in [-1, c.numLayers + 1] {
      refuses("layer \(layer)", "cannot start at layer") {
        try input.withUnsafeBufferPointer { try encoder.encode(encodings, fromLayer: layer, hidden: $0) }
      }
    }
    refuses("maps of a layer not run", "computes no maps of layer 1") {
      try encoder.encode(encodings, options: EncodeOptions(maps: .all), fromLayer: 1, states: states)
    }
    refuses("map features", "map features") {
      try encoder.encode(
        encodings, options: EncodeOptions(featureKinds: encodings.map { $0.ids.map { _ in 0 } }), fromLayer: 1,
        states: states)
    }
    #expect(try encoder.encode(encodings, fromLayer: 1, states: states).hiddenStates == nil)
    let partial = try #require(
      try encoder.encode(encodings, options: EncodeOptions(hiddenStates: true), fromLayer: 1, states: states)
        .hiddenStates)
    refuses("a boundary the states do not hold", "not the input of layer 1") {
      try encoder.encode(encodings, fromLayer: 0, states: partial)
    }
    // Nothing to run: an empty batch, and the last boundary (the output as it is).
    let empty = try [Float]().withUnsafeBufferPointer { try encoder.encode([], fromLayer: 1, hidden: $0) }
    #expect(empty.count == 0)
    let last = try encoder.encode(encodings, fromLayer: c.numLayers, states: states)
    #expect(last.hidden.array() == Array(try #require(states.input(ofLayer: c.numLayers))))
  }

  @Test(
    "reusing the intact pass's layers gives the numbers of the full recompute, for every target",
    arguments: startModels, TestBackends.available)
  func reuseMatchesRecompute(_ name: String, backend: BackendKind) async throws {
    let model = try await ModelCache.shared.model(name == "tiny-bert" ? Fixtures.tiny : try #require(Fixtures.miniLM))
    let encoder = try Encoder(model: model, backend: backend)
    let c = model.config
    // Mixed lengths and pairs in one batch (padded on OpenCL), every head and every layer
    // as targets: layer 0 and the last layer included.
    let encodings = try AnalysisCorpus.encodings(model)
    let pairs = encodings.indices.map {
      AblationItem(first: encodings[$0], second: encodings[(3 * $0 + 1) % encodings.count], score: Double($0 % 5))
    }
    let texts = encodings.map { AblationItem(first: $0) }
    for mode in AblationMode.allCases {
      for (task, items) in [(AblationTask.similarity, pairs), (.embeddingChange, texts)] {
        let label = "\(name), \(backend), \(mode), \(task)"
        let reuse = AblationAnalysis(task: task, mode: mode, reusesIntactLayers: true)
        let full = AblationAnalysis(task: task, mode: mode, reusesIntactLayers: false)
        var a = try reuse.makeState(encoder: encoder), b = try full.makeState(encoder: encoder)
        // Two batches, so that the states of one batch cannot serve the next.
        for part in [items[..<5], items[5...]] {
          try reuse.add(Array(part), encoder: encoder, to: &a)
          try full.add(Array(part), encoder: encoder, to: &b)
        }
        #expect(a.targets.count == c.numLayers * (c.numHeads + 1) && a.targets == b.targets, "\(label)")
        #expect(a.forwardPasses == b.forwardPasses && a.examples == b.examples && a.scores == b.scores, "\(label)")
        for k in 0...a.targets.count {
          let what = k == 0 ? "intact" : "\(a.targets[k - 1])"
          expectClose(a.cosines[k], b.cosines[k], atol: 1e-6, "\(label), \(what): cosines")
          #expect(
            abs(a.sums[k] - b.sums[k]) <= 1e-6 * Double(a.examples), "\(label), \(what): \(a.sums[k]) vs \(b.sums[k])")
          #expect(abs(a.metric(k) - b.metric(k)) <= 1e-6, "\(label), \(what): \(a.metric(k)) vs \(b.metric(k))")
        }
        if task == .embeddingChange {
          // Every target changes the embeddings: the numbers compared are not all zero.
          #expect(a.sums[0] == 0, "\(label): the intact model against itself")
          for k in 1...a.targets.count {
            #expect(b.sums[k] > 1e-7 * Double(b.examples), "\(label), \(b.targets[k - 1]): no effect")
          }
        }
      }
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
