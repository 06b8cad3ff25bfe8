import BertScopeAnalysis
import Foundation
import Testing

@testable import BertScope

/// Small corpus helpers on the tiny random BERT (2 layers × 4 heads).
enum AnalysisCorpus {
  static let lines: [(String, String?)] = [
    ("the cat sat on the mat .", nil), ("she said , \" yes \" and left", nil),
    ("we will go there", "they are not here !"),
    ("a b c d e f g", nil), ("it is what it is", "is it ?"), ("one", nil), ("time and time again , and again", nil),
    ("how are you", "i am fine , thank you ."), ("no", "yes"), ("the end", nil), ("first of all", "last but not least"),
    ("so it goes", nil),
  ]

  static func encodings(_ model: BertModel, _ range: Range<Int>? = nil) throws -> [Encoding] {
    try lines[range ?? lines.indices].map { try model.tokenizer.encode($0.0, pair: $0.1) }
  }

  /// Features of every map, batch by batch.
  static func blocks(_ encoder: Encoder, _ model: BertModel, _ encodings: [Encoding], batch: Int) throws
    -> [FeatureBlock]
  {
    try stride(from: 0, to: encodings.count, by: batch).flatMap { start in
      try FeatureBlock.compute(Array(encodings[start..<min(start + batch, encodings.count)]), encoder: encoder)
    }
  }

  static func tempFile(_ name: String, _ text: String) throws -> String {
    let url = Fixtures.temporaryDirectory("bertscope-analysis").appendingPathComponent(name)
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url.path
  }
}

@Suite("Analysis: streaming statistics over a corpus")
struct AnalysisCorpusTests {
  @Test("statistics merged from two halves of a corpus equal those of the whole", arguments: TestBackends.available)
  func mergeHalves(_ backend: BackendKind) async throws {
    let model = try await ModelCache.shared.model(Fixtures.tiny)
    let encoder = try Encoder(model: model, backend: backend)
    let c = model.config
    let all = try AnalysisCorpus.encodings(model)
    let blocks = try AnalysisCorpus.blocks(encoder, model, all, batch: 6)
    #expect(blocks.count == 2)
    var whole = HeadAccumulator(layers: c.numLayers, heads: c.numHeads, width: MapFeatures.count)
    var wholeCounts = PatternCounts(layers: c.numLayers, heads: c.numHeads)
    for b in blocks {
      whole.add(b)
      wholeCounts.add(b, classifier: PatternClassifier())
    }
    var halves: [HeadAccumulator] = []
    var halfCounts: [PatternCounts] = []
    for b in blocks {
      var a = HeadAccumulator(layers: c.numLayers, heads: c.numHeads, width: MapFeatures.count)
      var p = PatternCounts(layers: c.numLayers, heads: c.numHeads)
      a.add(b)
      p.add(b, classifier: PatternClassifier())
      halves.append(a)
      halfCounts.append(p)
    }
    let merged = try halves[0].merged(with: halves[1])
    #expect(merged.counts == whole.counts)
    #expect(zip(merged.sums, whole.sums).allSatisfy { abs($0 - $1) <= 1e-9 * max(1, abs($1)) })
    #expect(try halfCounts[0].merged(with: halfCounts[1]) == wholeCounts)
    #expect(wholeCounts.examples == all.count)
    // The same batches again: results are deterministic.
    let again = try AnalysisCorpus.blocks(encoder, model, all, batch: 6)
    #expect(again.map(\.values) == blocks.map(\.values))
    // Batching does not change a sequence's features beyond float rounding of the GEMMs.
    let single = try AnalysisCorpus.blocks(encoder, model, all, batch: 1)
    expectClose(single.flatMap(\.values), blocks.flatMap(\.values), atol: 1e-5, "features by batch size")
  }

  @Test("patterns.csv, patterns_by_layer.csv, special.csv and cls_row.csv: headers, numbering from 1, rows sum to 1")
  func reports() async throws {
    let model = try await ModelCache.shared.model(Fixtures.tiny)
    let encoder = try Encoder(model: model, backend: .cpu)
    let c = model.config
    var features = HeadAccumulator(layers: c.numLayers, heads: c.numHeads, width: MapFeatures.count)
    var counts = PatternCounts(layers: c.numLayers, heads: c.numHeads)
    for b in try AnalysisCorpus.blocks(encoder, model, try AnalysisCorpus.encodings(model), batch: 5) {
      features.add(b)
      counts.add(b, classifier: PatternClassifier())
    }
    let info = RunInfo.unknown(layers: c.numLayers, heads: c.numHeads)
    let patterns = PatternsResult(counts: counts, classifier: PatternClassifier(), info: info)
    let lines = patterns.tables[0].text.split(separator: "\n")
    #expect(lines[0] == "layer,head,vertical,diagonal,vertical+diagonal,block,heterogeneous")
    #expect(lines.count == 1 + c.numLayers * c.numHeads)
    #expect(lines[1].hasPrefix("1,1,") && lines.last!.hasPrefix("\(c.numLayers),\(c.numHeads),"))
    for line in lines.dropFirst() {
      let sum = line.split(separator: ",").dropFirst(2).reduce(0.0) { $0 + Double($1)! }
      #expect(abs(sum - 1) < 1e-5, "\(line)")
    }
    #expect(
      patterns.tables[1].header == ["layer", "vertical", "diagonal", "vertical+diagonal", "block", "heterogeneous"])
    #expect(patterns.tables[1].rows.count == c.numLayers)
    let special = SpecialResult(features: features, info: info)
    #expect(special.tables[0].text.hasPrefix("layer,head,cls,sep,punct,self,prev,next,entropy\n1,1,"))
    #expect(special.tables[1].header == ["layer", "head", "cls", "sep", "punct", "other"])
    #expect(special.tables[1].rows.count == c.numHeads)
    for row in special.tables[1].rows {
      #expect(row[0] == "\(c.numLayers)")
      #expect(abs(row.dropFirst(2).reduce(0.0) { $0 + Double($1)! } - 1) < 1e-5)
    }
    #expect(features.count(layer: 0, head: 0) == AnalysisCorpus.lines.count)
    #expect(Set(special.layersRanked(by: .cls)) == Set(1...c.numLayers))
  }
}

@Suite("Analysis: checkpoint comparison")
struct AnalysisCompareTests {
  @Test("compare(model, model) is 1 for every head", arguments: TestBackends.available)
  func selfComparison(_ backend: BackendKind) async throws {
    let model = try await ModelCache.shared.model(Fixtures.tiny)
    try MapComparison.checkComparable(model, model)
    let a = try Encoder(model: model, backend: backend)
    let b = try Encoder(model: model, backend: backend)
    var comparison = MapComparison(layers: model.config.numLayers, heads: model.config.numHeads)
    let encodings = try AnalysisCorpus.encodings(model)
    try comparison.add(
      try a.encode(encodings, options: EncodeOptions(maps: .all)),
      try b.encode(encodings, options: EncodeOptions(maps: .all)))
    #expect(comparison.examples == encodings.count)
    for l in 0..<model.config.numLayers {
      for h in 0..<model.config.numHeads { #expect(abs(comparison.cosine(layer: l, head: h) - 1) < 1e-6) }
    }
    let result = CompareResult(comparison, info: .unknown(layers: model.config.numLayers, heads: model.config.numHeads))
    #expect(result.tables[0].text.hasPrefix("layer,head,cosine\n1,1,1.000000\n"))
  }

  @Test("cosine of two different maps, by hand: [1,0] vs [0.6,0.8] per row")
  func cosineByHand() {
    #expect(abs(Statistics.cosine([1, 0, 0, 1] as [Float], [0.6, 0.8, 0.8, 0.6] as [Float]) - 0.6) < 1e-7)
  }

  @Test("checkpoints with a different architecture or vocabulary are refused, naming what differs")
  func refuses() async throws {
    let model = try await ModelCache.shared.model(Fixtures.tiny)
    var config = model.config
    config.numLayers = 3
    let deeper = BertModel(
      config: config, vocabulary: model.vocabulary, tokenizer: model.tokenizer, weights: model.weights,
      directory: URL(fileURLWithPath: "/deeper"))
    #expect {
      try MapComparison.checkComparable(model, deeper)
    } throws: { error in
      "\(error)".contains("different architecture (layers 2 vs 3)")
    }
    var tokens = model.vocabulary.tokens
    tokens[200] = "zzzz"
    let vocabulary = try Vocabulary(tokens: tokens)
    let other = BertModel(
      config: model.config, vocabulary: vocabulary, tokenizer: try BertTokenizer(vocabulary: vocabulary),
      weights: model.weights,
      directory: URL(fileURLWithPath: "/other"))
    #expect {
      try MapComparison.checkComparable(model, other)
    } throws: { error in
      "\(error)".contains("different vocabularies (token 200")
    }
  }
}

@Suite("Analysis: relation heads")
struct AnalysisRelationTests {
  /// `[CLS] the cat sat . [SEP]` for "The cat sat." with character offsets.
  static let encoding = Encoding(
    tokens: ["[CLS]", "the", "cat", "sat", ".", "[SEP]"], ids: [2, 10, 11, 12, 13, 3], segments: [0, 0, 0, 0, 0, 0],
    offsets: [nil, 0..<3, 4..<7, 8..<11, 11..<12, nil])

  /// Maps backed by `values` `[layers, heads, L, L]`.
  static func maps(_ values: [Float], layers: Int, heads: Int, length n: Int) -> AttentionMaps {
    let storages = (0..<layers).map { l in FloatStorage(Array(values[(l * heads * n * n)..<((l + 1) * heads * n * n)]))
    }
    return AttentionMaps(
      layers: Array(0..<layers), heads: Array(0..<heads), length: n, storages: storages,
      blocks: (0..<layers).map { _ in (0..<heads).map { $0 * n * n } })
  }

  @Test("spans map to the tokens they overlap; the score is the max in both directions")
  func scoreByHand() throws {
    let example = try RelationExample.parse(
      #"{"text": "The cat sat.", "pairs": [[[4, 7], [8, 12]], [[0, 2], [3, 4]]]}"#, line: 1, path: "r.jsonl")
    #expect(RelationExample.tokens(covering: 4..<7, in: Self.encoding) == [2])
    #expect(RelationExample.tokens(covering: 8..<12, in: Self.encoding) == [3, 4])
    #expect(RelationExample.tokens(covering: 3..<4, in: Self.encoding).isEmpty)  // the space
    let n = 6
    var head0 = [Float](repeating: 0, count: n * n)
    head0[2 * n + 4] = 0.7  // cat → .
    head0[3 * n + 2] = 0.4  // sat → cat
    var head1 = [Float](repeating: 0, count: n * n)
    head1[2 * n + 3] = 0.1
    var scores = RelationScores(layers: 1, heads: 2)
    try scores.add(
      example, encoding: Self.encoding, maps: Self.maps(head0 + head1, layers: 1, heads: 2, length: n), path: "r.jsonl")
    #expect(scores.pairs == 1 && scores.skippedPairs == 1 && scores.examples == 1)
    #expect(abs(scores.score(layer: 0, head: 0) - 0.7) < 1e-6)
    #expect(abs(scores.score(layer: 0, head: 1) - 0.1) < 1e-6)
    #expect(
      RelationsResult(scores, info: .unknown(layers: 1, heads: 2)).tables[0].text
        == "layer,head,score\n1,1,0.700000\n1,2,0.100000\n")
    let merged = try scores.merged(with: scores)
    #expect(merged.pairs == 2 && abs(merged.score(layer: 0, head: 0) - 0.7) < 1e-6)
  }

  @Test(
    "bad relation lines are errors naming the file and line",
    arguments: [
      (#"{"text": "abc", "pairs": [[[0, 1], [2, 9]]]}"#, "outside the text"),
      (#"{"text": "abc", "pairs": [[[2, 1], [0, 1]]]}"#, "outside the text"),
      (#"{"text": "abc", "pairs": [[[0, 1]]]}"#, "must be [[start, end], [start, end]]"),
      (#"{"text": "abc"}"#, "missing \"pairs\""),
      (#"{"text": 3, "pairs": []}"#, "wrong type"),
      (#"not json"#, "not valid JSON"),
    ])
  func badLines(_ item: (line: String, message: String)) {
    #expect {
      _ = try RelationExample.parse(item.line, line: 7, path: "rel.jsonl")
    } throws: { error in
      let text = "\(error)"
      return text.hasPrefix("rel.jsonl:7: ") && text.contains(item.message)
    }
  }

  @Test("spans count Unicode scalars, not bytes or grapheme clusters")
  func unicodeSpans() throws {
    // "é" as e + combining acute is 2 scalars; "☃" is one scalar but 3 UTF-8 bytes.
    let text = "e\u{301}☃ x"
    let example = try RelationExample.parse(
      "{\"text\": \"\(text)\", \"pairs\": [[[0, 2], [4, 5]]]}", line: 1, path: "u.jsonl")
    #expect(example.pairs[0].0 == 0..<2 && example.pairs[0].1 == 4..<5)
    #expect(throws: BertScopeError.self) {
      _ = try RelationExample.parse("{\"text\": \"\(text)\", \"pairs\": [[[0, 2], [4, 6]]]}", line: 1, path: "u.jsonl")
    }
  }

  @Test("a tokenizer without offsets is a clear error, not silent zeros")
  func noOffsets() throws {
    let example = try RelationExample.parse(
      #"{"text": "The cat sat.", "pairs": [[[4, 7], [8, 11]]]}"#, line: 3, path: "r.jsonl")
    var e = Self.encoding
    e.offsets = Array(repeating: nil, count: e.count)
    var scores = RelationScores(layers: 1, heads: 1)
    #expect {
      try scores.add(
        example, encoding: e, maps: Self.maps([Float](repeating: 0, count: 36), layers: 1, heads: 1, length: 6),
        path: "r.jsonl")
    } throws: { error in
      "\(error)".hasPrefix("r.jsonl:3: the tokenizer gave no character offsets")
    }
  }
}

@Suite("Analysis: bad input")
struct AnalysisBadInputTests {
  @Test("similarity TSV: a non-numeric score or a missing field names the line")
  func similarityLines() throws {
    let path = try AnalysisCorpus.tempFile("pairs.tsv", "a\tb\t0.5\nc\td\tabc\ne\tf\n")
    let reader = try CorpusReader(path: path)
    let first = try #require(try reader.nextLine())
    #expect(try AblationInput.similarity(first, path: path).score == 0.5)
    let second = try #require(try reader.nextLine())
    #expect {
      _ = try AblationInput.similarity(second, path: path)
    } throws: { "\($0)" == "\(path):2: score \"abc\" is not a number" }
    let third = try #require(try reader.nextLine())
    #expect {
      _ = try AblationInput.similarity(third, path: path)
    } throws: { "\($0)".hasPrefix("\(path):3: expected text_a<TAB>text_b<TAB>score (3 fields), found 2") }
  }

  @Test("classification TSV: labels by index or id2label name; anything else names the line")
  func classificationLines() throws {
    let path = try AnalysisCorpus.tempFile("labels.tsv", "good\tpos\nbad\t0\nugly\tmaybe\nx\n")
    let reader = try CorpusReader(path: path)
    let names = ["neg", "pos"]
    #expect(
      try AblationInput.classification(try #require(try reader.nextLine()), classes: 2, names: names, path: path).label
        == 1)
    #expect(
      try AblationInput.classification(try #require(try reader.nextLine()), classes: 2, names: names, path: path).label
        == 0)
    let ugly = try #require(try reader.nextLine())
    #expect {
      _ = try AblationInput.classification(ugly, classes: 2, names: names, path: path)
    } throws: { "\($0)".hasPrefix("\(path):3: label \"maybe\" is not a class index 0–1 or one of neg, pos") }
    let short = try #require(try reader.nextLine())
    #expect {
      _ = try AblationInput.classification(short, classes: 2, names: names, path: path)
    } throws: { "\($0)".hasPrefix("\(path):4: expected text<TAB>label") }
  }

  @Test("--task classify with a checkpoint that has no classifier is refused")
  func noClassifier() async throws {
    let model = try await ModelCache.shared.model(Fixtures.tiny)
    let encoder = try Encoder(model: model, backend: .cpu)
    #expect {
      _ = try AblationAnalysis(task: .classify, mode: .uniform).makeState(encoder: encoder)
    } throws: { "\($0)".contains("needs a …ForSequenceClassification checkpoint (a classification head") }
  }

  @Test("a corpus line that is not UTF-8 names the line")
  func malformedLine() throws {
    let url = Fixtures.temporaryDirectory("bertscope-analysis").appendingPathComponent("bad.txt")
    try Data("fine\n".utf8 + [0xFF, 0xFE, 0x0A] + Data("fine\n".utf8)).write(to: url)
    let reader = try CorpusReader(path: url.path)
    _ = try reader.nextLine()
    #expect { _ = try reader.nextLine() } throws: { "\($0)" == "\(url.path):2: not valid UTF-8" }
  }
}
