import BertScopeAnalysis
import Foundation
import Testing

@testable import BertScope

/// Small maps whose statistics are known by hand.
@Suite("Analysis: map features on maps known by hand")
struct AnalysisFeatureTests {
  func value(_ f: [Float], _ i: MapFeatures.Index) -> Float { f[i.rawValue] }

  /// `[CLS] hi , [SEP]`, one segment.
  static let kinds4: [TokenKind] = [.cls, .other, .punctuation, .sep]
  static let map4: [Float] = [
    0.4, 0.3, 0.2, 0.1,
    0.5, 0.25, 0.25, 0.0,
    0.1, 0.6, 0.2, 0.1,
    0.25, 0.25, 0.25, 0.25,
  ]

  @Test("every feature of a 4×4 map with [CLS], a word, a comma and [SEP]")
  func fourByFour() throws {
    let context = try MapContext(kinds: Self.kinds4, segments: [0, 0, 0, 0])
    let f = MapFeatures.compute(Self.map4, context: context)
    #expect(f.count == MapFeatures.count)
    let expected: [(MapFeatures.Index, Float)] = [
      (.cls, 1.25 / 4), (.sep, 0.45 / 4), (.punct, 0.9 / 4), (.selfAttention, 1.1 / 4), (.prev, 1.35 / 3),
      (.next, 0.65 / 3),
      (.entropy, 1.1986923), (.specialMass, 1.7 / 4), (.punctMass, 0.9 / 4), (.maxColumn, 1.4 / 4),
      (.columnEntropy, 1.3123350),
      // band on non-[CLS]/[SEP] keys: 0.3 + (0.25 + 0.25) + (0.6 + 0.2) + 0.25
      (.bandOther, 1.85 / 4), (.withinOther, 2.3 / 4), (.crossOther, 0),
      (.clsRowCLS, 0.4), (.clsRowSEP, 0.1), (.clsRowPunct, 0.2), (.clsRowOther, 0.3), (.length, 4), (.withinUniform, 1),
    ]
    for (i, v) in expected { #expect(abs(value(f, i) - v) < 1e-6, "\(i.name): \(value(f, i)) vs \(v)") }
    // Row-wise (m = 0.6): column 1 is ≥ 0.45·m in rows 0 and 2, 0.25/0.6 = 0.417 (ramp 2/3) in
    // rows 1 and 3; at 0.25 columns 1 and 2 are past it in every row; the band is past 0.45·m
    // in rows 0–2 and at 0.417 in row 3, and it holds each row's largest entry.
    let rowWise: [(MapFeatures.Index, Float)] = [
      (.darkColumn, 10.0 / 12), (.greyColumn, 1), (.darkBand, 11.0 / 12), (.nearBand, 1),
    ]
    for (i, v) in rowWise { #expect(abs(value(f, i) - v) < 1e-5, "\(i.name): \(value(f, i)) vs \(v)") }
  }

  @Test("uniform and identity maps: entropy ln L and 0, self 1/L and 1")
  func uniformAndIdentity() throws {
    let n = 7
    let context = try MapContext(
      kinds: [.cls] + Array(repeating: .other, count: n - 2) + [.sep], segments: Array(repeating: 0, count: n))
    let uniform = MapFeatures.compute([Float](repeating: 1 / Float(n), count: n * n), context: context)
    #expect(abs(value(uniform, .entropy) - logf(Float(n))) < 1e-5)
    #expect(abs(value(uniform, .columnEntropy) - logf(Float(n))) < 1e-5)
    #expect(abs(value(uniform, .selfAttention) - 1 / Float(n)) < 1e-6)
    #expect(abs(value(uniform, .cls) - 1 / Float(n)) < 1e-6)
    #expect(PatternClassifier().classify(uniform) == .heterogeneous)
    var identity = [Float](repeating: 0, count: n * n)
    for i in 0..<n { identity[i * n + i] = 1 }
    let f = MapFeatures.compute(identity, context: context)
    #expect(value(f, .selfAttention) == 1 && value(f, .entropy) == 0 && value(f, .prev) == 0 && value(f, .next) == 0)
    #expect(abs(value(f, .bandOther) - Float(n - 2) / Float(n)) < 1e-6)
    #expect(PatternClassifier().classify(f) == .diagonal)
  }

  @Test("a pair with attention inside each segment: within 1, cross 0, block excess 1")
  func pairBlock() throws {
    // [CLS] a [SEP] | b [SEP]
    let context = try MapContext(kinds: [.cls, .other, .sep, .other, .sep], segments: [0, 0, 0, 1, 1])
    let t: Float = 1 / 3, h: Float = 0.5
    let map: [Float] = [
      t, t, t, 0, 0,
      t, t, t, 0, 0,
      t, t, t, 0, 0,
      0, 0, 0, h, h,
      0, 0, 0, h, h,
    ]
    let f = MapFeatures.compute(map, context: context)
    #expect(abs(value(f, .withinOther) - 2.0 / 5) < 1e-6)
    #expect(value(f, .crossOther) == 0)
    // uniform over the non-special keys (one per segment): half of each row stays inside
    #expect(abs(value(f, .withinUniform) - 0.5) < 1e-6)
    #expect(abs(value(f, .sep) - 0.2) < 1e-6 && abs(value(f, .cls) - 0.2) < 1e-6)
    let s = PatternScores(f)
    #expect(s.isPair && abs(s.blockExcess - 1) < 1e-6)
  }

  @Test("a single token: no neighbours, no entropy")
  func singleToken() throws {
    let f = MapFeatures.compute([1], context: try MapContext(kinds: [.cls], segments: [0]))
    #expect(value(f, .selfAttention) == 1 && value(f, .prev) == 0 && value(f, .next) == 0 && value(f, .entropy) == 0)
    #expect(PatternClassifier().classify(f) != .block)
  }

  @Test("a context whose kinds and segments disagree in length is an error")
  func badContext() {
    #expect(throws: BertScopeError.self) { try MapContext(kinds: [.cls, .sep], segments: [0]) }
  }

  @Test("punctuation: Unicode P* and HF's ASCII symbols, ## pieces, not words or [UNK]")
  func punctuation() {
    for t in [",", ".", "...", "##.", "##", "###", "$", "+", "^", "`", "—", "«", "¿", "-"] {
      #expect(TokenKind.isPunctuation(token: t), "\(t)")
    }
    for t in ["a", "[UNK]", "##s", "", "1", "€", "a.", "☃"] { #expect(!TokenKind.isPunctuation(token: t), "\(t)") }
  }

  @Test("token kinds: [CLS]/[SEP] by id, punctuation by token (or by vocabulary when tokens are absent)")
  func kinds() async throws {
    let model = try await ModelCache.shared.model(Fixtures.tiny)
    let tok = model.tokenizer
    let comma = try #require(tok.vocabulary.id(","))
    let word = try #require(tok.vocabulary.id("the"))
    let e = Encoding(
      tokens: [], ids: [tok.clsID, word, comma, tok.sepID, word, tok.sepID], segments: [0, 0, 0, 0, 1, 1],
      offsets: Array(repeating: nil, count: 6))
    #expect(TokenKind.kinds(of: e, tokenizer: tok) == [.cls, .other, .punctuation, .sep, .other, .sep])
  }
}

/// Synthetic prototype maps of each type, with noise: the classifier must name each one.
@Suite("Analysis: pattern classifier on synthetic prototypes")
struct AnalysisPrototypeTests {
  /// Positions: [CLS] w… [SEP] (w… [SEP]); rows mix a prototype with random rows (weight `noise`).
  static func prototype(
    _ pattern: AttentionPattern, length n: Int, pairAt split: Int?, noise: Float, rng: inout SplitMix64
  ) -> (map: [Float], context: MapContext) {
    var kinds = [TokenKind](repeating: .other, count: n)
    var segments = [Int32](repeating: 0, count: n)
    kinds[0] = .cls
    kinds[n - 1] = .sep
    if let split {
      kinds[split - 1] = .sep
      for i in split..<n { segments[i] = 1 }
    }
    var map = [Float](repeating: 0, count: n * n)
    for i in 0..<n {
      var row = [Float](repeating: 0, count: n)
      switch pattern {
      case .vertical:
        row[0] = 0.6
        row[n - 1] = 0.25
        row[Int.random(in: 1..<(n - 1), using: &rng)] += 0.15
      case .diagonal:
        row[max(i - 1, 0)] += 0.8
        row[i] += 0.2
      case .verticalDiagonal:
        row[0] += 0.45
        row[max(i - 1, 0)] += 0.45
        row[i] += 0.1
      case .block:
        for j in 0..<n where segments[j] == segments[i] { row[j] = Float.random(in: 0.5...1.5, using: &rng) }
      case .heterogeneous:
        for j in 0..<n { row[j] = expf(2 * Float.random(in: -1...1, using: &rng)) }
      }
      var random = (0..<n).map { _ in Float.random(in: 0...1, using: &rng) }
      let rs = random.reduce(0, +)
      random = random.map { $0 / rs }
      let s = row.reduce(0, +)
      for j in 0..<n { map[i * n + j] = (1 - noise) * row[j] / s + noise * random[j] }
    }
    return (map, try! MapContext(kinds: kinds, segments: segments))
  }

  @Test(
    "200 noisy prototypes (L 12–60, singles and pairs, 20 % noise) are all classified right",
    arguments: AttentionPattern.allCases)
  func prototypes(_ pattern: AttentionPattern) {
    var rng = SplitMix64(seed: UInt64(17 + pattern.rawValue))
    let classifier = PatternClassifier()
    var wrong: [String] = []
    for k in 0..<200 {
      let n = Int.random(in: 12...60, using: &rng)
      let pair = pattern == .block || k % 2 == 0
      let split = pair ? Int.random(in: (n / 3)...(2 * n / 3), using: &rng) : nil
      let (map, context) = Self.prototype(pattern, length: n, pairAt: split, noise: 0.2, rng: &rng)
      let f = MapFeatures.compute(map, context: context)
      let got = classifier.classify(f)
      if got != pattern {
        let s = PatternScores(f)
        wrong.append(
          "L=\(n) split \(split.map(String.init) ?? "-"): \(got.name) (diagonal \(s.diagonal), columnMass \(s.columnMass), shared \(s.sharedProfile), concentration \(s.columnConcentration), block \(s.blockExcess))"
        )
      }
    }
    #expect(wrong.isEmpty, "\(pattern.name): \(wrong.count) wrong, e.g. \(wrong.prefix(3).joined(separator: "; "))")
  }
}

@Suite("Analysis: statistics and rollout by hand")
struct AnalysisStatisticsTests {
  @Test("average ranks for ties, and Spearman's rho as scipy computes it")
  func spearman() {
    #expect(Statistics.ranks([10, 20, 20, 30]) == [1, 2.5, 2.5, 4])
    #expect(Statistics.ranks([0.3, 0.1, 0.1, 0.9, 0.5, 0.5]) == [3, 1.5, 1.5, 6, 4.5, 4.5])
    #expect(abs(Statistics.spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) - 0.8207826816681234) < 1e-12)
    #expect(abs(Statistics.spearman([0.3, 0.1, 0.1, 0.9, 0.5, 0.5], [2, 1, 3, 5, 4, 4]) - 0.895622151039798) < 1e-12)
    #expect(abs(Statistics.spearman([1, 2, 3], [30, 20, 10]) + 1) < 1e-12)
    #expect(Statistics.spearman([1, 1, 1], [1, 2, 3]).isNaN)
  }

  @Test("rollout of two 2×2 layers, computed by hand")
  func rolloutByHand() {
    // Ã = rownorm(A + I): layer 1 A = [[0,1],[1,0]] → [[.5,.5],[.5,.5]];
    // layer 2 A = I → Ã = I, so R_2 = R_1.
    let r = Rollout.compute(layerMaps: [[0, 1, 1, 0], [1, 0, 0, 1]], length: 2)
    #expect(r == [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5])
    // A = [[1,0],[.5,.5]] → Ã = [[1,0],[.25,.75]]; twice: [[1,0],[.25+.75·.25, .75·.75]]
    let s = Rollout.compute(layerMaps: [[1, 0, 0.5, 0.5], [1, 0, 0.5, 0.5]], length: 2)
    #expect(s == [1, 0, 0.25, 0.75, 1, 0, 0.4375, 0.5625])
  }

  @Test("rollout of the tiny model: rows sum to 1, layer 1 is rownorm(mean + I)", arguments: TestBackends.available)
  func rolloutTiny(_ backend: BackendKind) async throws {
    let model = try await ModelCache.shared.model(Fixtures.tiny)
    let encoder = try Encoder(model: model, backend: backend)
    let out = try encoder.encode(texts: ["the cat sat on the mat"], options: EncodeOptions(maps: .all))
    let maps = out.maps[0]
    let n = maps.length
    let r = try Rollout.compute(maps)
    #expect(r.count == model.config.numLayers * n * n)
    for row in 0..<(model.config.numLayers * n) {
      #expect(abs(r[(row * n)..<((row + 1) * n)].reduce(0, +) - 1) < 1e-5)
    }
    for i in 0..<n {
      for j in 0..<n {
        let mean = maps.heads.indices.reduce(Float(0)) { $0 + maps.map(0, $1)[i * n + j] } / Float(maps.heads.count)
        #expect(abs(r[i * n + j] - (mean + (i == j ? 1 : 0)) / 2) < 1e-6)
      }
    }
  }
}

@Suite("Analysis: batches of maps under a memory budget")
struct AnalysisMapBatchTests {
  @Test("runs are consecutive, cover every sequence, and stay under the budget unless one sequence alone exceeds it")
  func budget() {
    // 2 maps of L² floats: L = 10 → 800 bytes, L = 20 → 3200 bytes.
    #expect(Analysis.mapBatches([10, 10, 10], mapsPerSequence: 2, budgetBytes: 1600) == [0..<2, 2..<3])
    #expect(Analysis.mapBatches([20, 10, 10, 20], mapsPerSequence: 2, budgetBytes: 1600) == [0..<1, 1..<3, 3..<4])
    #expect(Analysis.mapBatches([10, 10], mapsPerSequence: 2) == [0..<2])
    #expect(Analysis.mapBatches([], mapsPerSequence: 2).isEmpty)
  }
}
