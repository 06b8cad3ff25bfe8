import BertScopeAnalysis
import Foundation
import Testing

@testable import BertScope

/// Reads CoNLL-U text written to a temporary file; the file is removed afterwards.
private func sentences(_ text: String) throws -> [CoNLLUSentence] {
  let dir = Fixtures.temporaryDirectory("bertscope-conllu")
  defer { try? FileManager.default.removeItem(at: dir) }
  let url = dir.appendingPathComponent("t.conllu")
  try text.write(to: url, atomically: true, encoding: .utf8)
  let units = CoNLLUSentences(try CorpusReader(path: url.path))
  var out: [CoNLLUSentence] = []
  while let u = try units.nextUnit() { out.append(u.value!) }
  return out
}

/// A CoNLL-U word line from its ID, FORM, UPOS, HEAD and DEPREL.
private func row(_ id: String, _ form: String, _ upos: String = "_", _ head: String = "_", _ rel: String = "_")
  -> String
{
  [id, form, "_", upos, "_", "_", head, rel, "_", "_"].joined(separator: "\t")
}

@Suite("CoNLL-U: what is read and what is refused")
struct CoNLLUTests {
  @Test("comments, multiword ranges and empty nodes skipped; a sentence without words is none; no final blank line")
  func reading() throws {
    let text = [
      "# newdoc id = x", "# sent_id = 1", row("1-2", "don't"), row("1", "do", "AUX", "3", "aux"),
      row("2", "n't", "PART", "3", "advmod"), row("3", "go", "VERB", "0", "root"), row("3.1", "gone"),
      row("4", "home", "NOUN", "3", "obl:tmod"), "",
      "# only a comment and a range", row("1-2", "ab"), "", "", " ",
      row("1", "Yes", "INTJ", "_", "_"),
    ].joined(separator: "\n")
    let s = try sentences(text)
    try #require(s.count == 2)
    #expect(s[0].words.map(\.form) == ["do", "n't", "go", "home"])
    #expect(s[0].line == 4)
    #expect(s[0].words[3] == CoNLLUWord(form: "home", upos: "NOUN", head: 3, deprel: "obl:tmod"))
    #expect(s[1].words == [CoNLLUWord(form: "Yes", upos: "INTJ", head: nil, deprel: nil)])
    #expect(s[1].line == 15)
  }

  @Test(
    "a malformed line: an error naming the file and its line",
    arguments: [
      ([row("1", "a", "X", "0", "root"), "1\ta\t_\tX\t_\t_\t0\troot\t_"], 2, "10 TAB-separated fields"),
      ([row("1", "a", "X", "0", "root"), row("x", "b")], 2, "ID \"x\""),
      ([row("2", "a", "X", "0", "root")], 1, "word ID 2 out of order (expected 1"),
      ([row("1", "a", "X", "0", "root"), row("2", "b", "X", "a", "dep")], 2, "HEAD \"a\""),
      ([row("1", "a", "X", "0", "root"), row("2", "b", "X", "7", "dep")], 2, "HEAD 7 is not a word"),
      ([row("1", "a", "X", "1", "root")], 1, "its own HEAD"),
      ([row("1-", "ab"), row("1", "a", "X", "0", "root")], 1, "range 1-2"),
    ])
  func malformed(_ lines: [String], _ line: Int, _ message: String) throws {
    #expect {
      _ = try sentences(lines.joined(separator: "\n") + "\n")
    } throws: { error in
      let text = "\(error)"
      return text.contains("t.conllu:\(line): ") && text.contains(message)
    }
  }
}

@Suite("Word-level maps and the linguistic scores, checked by hand")
struct WordLevelTests {
  /// [CLS] w1a w1b w2 [SEP]: word 1 in two pieces.
  static let alignment = WordAlignment(
    encoding: Encoding(
      tokens: ["[CLS]", "a", "##b", "c", "[SEP]"], ids: [2, 10, 11, 12, 3], segments: [0, 0, 0, 0, 0],
      offsets: [nil, 0..<1, 1..<2, 3..<4, nil]),
    wordOfToken: [0, 1, 1, 2, 3], words: 2)

  static let map: [Float] = [
    0.5, 0.1, 0.1, 0.2, 0.1,
    0.2, 0.2, 0.3, 0.2, 0.1,
    0.1, 0.4, 0.1, 0.2, 0.2,
    0.3, 0.25, 0.25, 0.1, 0.1,
    0.6, 0.1, 0.1, 0.1, 0.1,
  ]

  @Test("from a word: the mean of its pieces' rows; to a word: the sum of its pieces' columns; rows still sum to 1")
  func sumAndMean() {
    let w = Self.map.withUnsafeBufferPointer { Self.alignment.wordMap($0) }
    // Row 1 = mean of token rows 1 and 2 with columns 1+2 summed: ([.2,.5,.2,.1] + [.1,.5,.2,.2]) / 2.
    let expected: [Double] = [
      0.5, 0.2, 0.2, 0.1,
      0.15, 0.5, 0.2, 0.15,
      0.3, 0.5, 0.1, 0.1,
      0.6, 0.2, 0.1, 0.1,
    ]
    #expect(w.count == 16)
    let differences: [Double] = zip(w, expected).map { abs($0 - $1) }
    #expect(differences.allSatisfy { $0 < 1e-7 }, "\(w)")
    for r in 0..<4 {
      let sum: Double = w[(r * 4)..<(r * 4 + 4)].reduce(0, +)
      #expect(abs(sum - 1) < 1e-6)
    }
  }

  @Test("features: the largest column mean (or [CLS]-row weight) over the class's words; none: nil")
  func featureScores() {
    let w = Self.map.withUnsafeBufferPointer { Self.alignment.wordMap($0) }
    // Column means of the word map: (0.5+0.15+0.3+0.6)/4, (0.2+0.5+0.5+0.2)/4, 0.6/4, 0.45/4.
    let targets = [[2], [1, 2], [], [0], [3]]
    let s = w.withUnsafeBufferPointer { LinguisticState.scores(wordMap: $0, words: 2, targets: targets) }
    let feature: [Double] = s.feature.map { $0 ?? -1 }
    let expected: [Double] = [0.15, 0.35, -1, 0.3875, 0.1125]
    #expect(zip(feature, expected).allSatisfy { abs($0 - $1) < 1e-7 }, "\(feature)")
    #expect(s.feature[2] == nil && s.clsFeature[2] == nil)
    let cls: [Double] = s.clsFeature.map { $0 ?? -1 }
    let expectedCLS: [Double] = [0.2, 0.2, -1, 0.5, 0.1]
    #expect(zip(cls, expectedCLS).allSatisfy { abs($0 - $1) < 1e-7 }, "\(cls)")
    #expect(s.prediction == [0, 2, 1])
  }

  @Test("a row's prediction skips [CLS], [SEP] and the word itself; ties go to the lowest position")
  func predictions() {
    let w: [Double] = [
      0.2, 0.2, 0.2, 0.2, 0.2,
      0.1, 0.3, 0.3, 0.3, 0.0,
      0.9, 0.05, 0.0, 0.04, 0.01,
      0.0, 0.2, 0.3, 0.1, 0.4,
      0.2, 0.2, 0.2, 0.2, 0.2,
    ]
    let s = w.withUnsafeBufferPointer { LinguisticState.scores(wordMap: $0, words: 3, targets: []) }
    #expect(s.prediction == [0, 2, 1, 2])
  }

  /// Three sentences of a 1-layer, 2-head model with hand-made map scores.
  static func state() -> LinguisticState {
    func word(_ f: String, _ u: String, _ h: Int, _ r: String) -> CoNLLUWord {
      CoNLLUWord(form: f, upos: u, head: h, deprel: r)
    }
    let a = CoNLLUSentence(
      words: [word("The", "DET", 2, "det"), word("cat", "NOUN", 3, "nsubj"), word("sleeps", "VERB", 0, "root")], line: 1
    )
    let b = CoNLLUSentence(
      words: [word("Dogs", "NOUN", 2, "nsubj"), word("bark", "VERB", 0, "root"), word("loudly", "ADV", 2, "advmod")],
      line: 6)
    let c = CoNLLUSentence(
      words: [word("x", "NOUN", 2, "conj"), word("y", "NOUN", 0, "root"), word("z", "NOUN", 2, "conj")], line: 11)
    var state = LinguisticState(layers: 1, heads: 2)
    func scores(_ noun: Double, _ prediction: [Int]) -> LinguisticState.MapScores {
      let f = LinguisticFeature.allCases.map { $0 == .noun ? noun : $0 == .pronoun ? nil : 0.5 }
      return LinguisticState.MapScores(feature: f, clsFeature: f.map { $0.map { $0 / 2 } }, prediction: prediction)
    }
    for (s, maps) in [
      (a, [scores(0.3, [0, 2, 3, 2]), scores(0.1, [0, 3, 1, 1])]),
      (b, [scores(0.5, [0, 2, 1, 2]), scores(0.2, [0, 3, 3, 1])]),
      (c, [scores(0.4, [0, 3, 1, 1]), scores(0.6, [0, 3, 1, 1])]),
    ] {
      let targets = LinguisticFeature.allCases.map { $0.targets(in: s) }
      let alignment = WordAlignment(
        encoding: Encoding(tokens: [], ids: [1, 2, 3, 4, 5], segments: [0, 0, 0, 0, 0], offsets: []),
        wordOfToken: [0, 1, 2, 3, 4], words: 3)
      state.add(s, alignment: alignment, targets: targets, maps: maps)
    }
    return state
  }

  @Test("dependency counts, baselines and best heads by hand; a class no sentence has gets no row, not a zero")
  func tallies() throws {
    let state = Self.state()
    #expect(state.relations["det"]?.correct == [[1, 0], [0, 1]])
    #expect(state.relations["nsubj"]?.correct == [[2, 0], [2, 0]])
    #expect(state.relations["advmod"]?.correct == [[1, 0], [0, 1]])
    // conj: from the head's row both heads find x (1) for the arc x → y; nothing else.
    #expect(state.relations["conj"]?.correct == [[0, 0], [1, 1]])
    #expect(state.relations["root"] == nil, "the root is no arc")
    #expect(state.arcs == 6 && state.sentences == 3 && state.words == 9 && state.tokens == 15)
    let info = RunInfo.unknown(layers: 1, heads: 2)
    let r = LinguisticResult(state, info: info)
    // Most arcs first, then by name; each relation in both directions.
    #expect(r.relations.map(\.relation) == ["conj", "nsubj", "advmod", "det"])
    #expect(r.relations.map(\.count) == [2, 2, 1, 1])
    let nsubj = try #require(r.dependencies.first { $0.relation == "nsubj" && $0.direction == .dependentToHead })
    #expect(nsubj.accuracy == [[1, 0]] && nsubj.baselineOffset == 1 && nsubj.baselineAccuracy == 1)
    let advmod = try #require(r.dependencies.first { $0.relation == "advmod" && $0.direction == .headToDependent })
    #expect(advmod.accuracy == [[0, 1]] && advmod.best.head == 1 && advmod.baselineOffset == 1)
    // conj: +1 and −1 tie at 0.5 → the negative offset; both heads tie → the first head.
    for d in r.dependencies where d.relation == "conj" {
      #expect(d.baselineOffset == -1 && d.baselineAccuracy == 0.5 && d.best.layer == 0 && d.best.head == 0)
    }
    // Nouns in all three sentences: means (0.3+0.5+0.4)/3 and (0.1+0.2+0.6)/3; the [CLS] row half of that.
    let noun = try #require(r.scores(.noun))
    #expect(noun.sentences == 3)
    #expect(abs(noun.scores[0][0] - 0.4) < 1e-12 && abs(noun.scores[0][1] - 0.3) < 1e-12)
    #expect(abs(r.scores(.noun, cls: true)!.scores[0][0] - 0.2) < 1e-12)
    #expect(r.scores(.pronoun) == nil && r.scores(.negation) == nil)
    let features = r.tables[0].text
    #expect(!features.contains("pronoun") && !features.contains("negation") && features.contains(",noun,"))
    #expect(r.tables[0].header == ["layer", "head", "feature", "score"])
    #expect(r.tables[3].rows.first == ["conj", "dependent-to-head", "2", "1", "1", "0.000000", "-1", "0.500000"])
  }

  @Test("the files read back to the same result; two halves merged = the whole")
  func filesAndMerge() throws {
    let state = Self.state()
    let dir = Fixtures.temporaryDirectory("bertscope-linguistic")
    defer { try? FileManager.default.removeItem(at: dir) }
    let info = RunInfo(
      model: ModelInfo(path: "/m", name: "m", layers: 1, heads: 2), backend: "cpu", examples: 3,
      options: RunOptions(input: "x.conllu"), seconds: 1)
    let r = LinguisticResult(state, info: info)
    try r.write(to: dir)
    let back = try LinguisticResult.read(from: dir)
    #expect(back.counts == r.counts && back.relations.map(\.relation) == r.relations.map(\.relation))
    #expect(back.features.map(\.feature) == r.features.map(\.feature))
    #expect(back.features.map(\.sentences) == r.features.map(\.sentences))
    for (x, y) in zip(back.dependencies, r.dependencies) {
      #expect(x.relation == y.relation && x.baselineOffset == y.baselineOffset && x.best.head == y.best.head)
    }
    let data = try JSONEncoder().encode(state)
    let decoded = try JSONDecoder().decode(LinguisticState.self, from: data)
    #expect(decoded == state)
    var doubled = state
    try doubled.merge(state)
    #expect(doubled.sentences == 6 && doubled.relations["det"]?.correct == [[2, 0], [0, 2]])
    // A state whose shapes no run can make is refused.
    let broken = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\"heads\":2", with: "\"heads\":3")
    #expect(throws: (any Error).self) { try JSONDecoder().decode(LinguisticState.self, from: Data(broken.utf8)) }
  }
}

@Suite("linguistic on the tiny model: alignment, skipping, resumption")
struct LinguisticRunTests {
  @Test("a word in several pieces: its pieces in order, all of that word; the specials are words 0 and n + 1")
  func alignment() async throws {
    let model = try await ModelCache.shared.model(Fixtures.tiny)
    let forms = ["The", "unbelievably", "cat", "."]
    let a = try WordAlignment.align(forms, tokenizer: model.tokenizer).get()
    let pieces = forms.map { model.tokenizer.wordPieces($0).map(\.token) }
    #expect(pieces[1].count > 2, "the tiny vocabulary splits it into pieces: \(pieces[1])")
    let tokens: [String] = ["[CLS]"] + pieces.flatMap { $0 } + ["[SEP]"]
    #expect(a.encoding.tokens == tokens)
    var words: [Int] = [0]
    for (i, p) in pieces.enumerated() { words += Array(repeating: i + 1, count: p.count) }
    words.append(5)
    #expect(a.wordOfToken == words)
    #expect(a.positions == 6)
    let long = Array(repeating: "unbelievably", count: 10)
    #expect(throws: WordAlignment.Failure.self) { try WordAlignment.align(long, tokenizer: model.tokenizer).get() }
    #expect(WordAlignment.align(["a", "\u{200B}"], tokenizer: model.tokenizer) == .failure(.noPieces(word: 2)))
  }

  @Test("a run resumed from a checkpoint = the uninterrupted run; sentences over the maximum skipped and counted")
  func resumption() throws {
    let dir = Fixtures.temporaryDirectory("bertscope-linguistic-run")
    defer { try? FileManager.default.removeItem(at: dir) }
    var lines = ShardCorpus.conllu
    // A sentence too long for tiny-bert's 64 tokens.
    for i in 1...20 {
      let head: String = i == 1 ? "0" : String(i - 1)
      lines.append(row(String(i), "unbelievably", "ADV", head, i == 1 ? "root" : "dep"))
    }
    lines.append("")
    let input = try ShardCorpus.write(lines, in: dir, name: "c.conllu")
    let session = try AnalysisSession.load(directory: Fixtures.tiny)
    let source = CorpusSource(path: input.path, batchSize: 4)
    var saved: [(LinguisticState, CorpusPosition)] = []
    let (whole, count) = try session.run(
      LinguisticAnalysis(), on: source, resuming: nil, checkpoint: { saved.append(($0, $1)) }, everyBatches: 3)
    #expect(whole.sentences == 33 && whole.skippedLong == 1 && count.examples == 34)
    try #require(saved.count >= 2)
    let (state, position) = saved[0]
    #expect(state.sentences == 12 && position.lines > 0)
    let (resumed, _) = try session.run(
      LinguisticAnalysis(), on: source, resuming: (state, position), checkpoint: nil)
    #expect(resumed == whole)
  }
}

@Suite(
  "linguistic on the command line", .enabled(if: CLI.available, "the bertscope binary is not built next to the tests"))
struct LinguisticCLITests {
  let tiny = Fixtures.tiny.path

  @Test("the files and headers of the contract; skipped sentences counted in the note and the JSON")
  func files() throws {
    let dir = Fixtures.temporaryDirectory("bertscope-linguistic-cli")
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("out")
    let r = try CLI.run([
      "linguistic", "--model", tiny, "--input", LinguisticGolden.conllu("edge").path, "--out", out.path,
      "--batch-size", "3",
    ])
    try #require(r.status == 0, "\(r.stderr)")
    #expect(r.stderr.contains("2 skipped as longer than the model's maximum"), "\(r.stderr)")
    #expect(r.stderr.contains("1 skipped: a word gave no token"), "\(r.stderr)")
    let headers: [String: String] = [
      "features.csv": "layer,head,feature,score", "cls_features.csv": "layer,head,feature,score",
      "dependencies.csv": "relation,direction,count,layer,head,accuracy",
      "dependency_best.csv":
        "relation,direction,count,best_layer,best_head,accuracy,baseline_offset,baseline_accuracy",
    ]
    for (file, header) in headers {
      let text = try String(contentsOf: out.appendingPathComponent(file), encoding: .utf8)
      #expect(text.hasPrefix(header + "\n"), "\(file)")
    }
    let json = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("linguistic.json")))
        as? [String: Any])
    let counts = try #require(json["counts"] as? [String: Int])
    #expect(counts["skippedLong"] == 2 && counts["skippedUnaligned"] == 1 && counts["sentences"] == 9)
    #expect((json["model"] as? [String: Any])?["name"] as? String == "tiny-bert")
  }

  @Test("a malformed CoNLL-U line or a second model of another shape: one line, exit 1, nothing written")
  func refused() throws {
    let dir = Fixtures.temporaryDirectory("bertscope-linguistic-bad")
    defer { try? FileManager.default.removeItem(at: dir) }
    let bad = dir.appendingPathComponent("bad.conllu")
    try ([row("1", "a", "X", "0", "root"), "2\tb\t_\tX"].joined(separator: "\n") + "\n").write(
      to: bad, atomically: true, encoding: .utf8)
    let out = dir.appendingPathComponent("out")
    let r = try CLI.run(["linguistic", "--model", tiny, "--input", bad.path, "--out", out.path, "-q"])
    #expect(r.status == 1)
    #expect(
      r.stderr
        == "error: \(bad.path):2: a CoNLL-U word line has 10 TAB-separated fields (ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC), this one has 4\n",
      "\(r.stderr)")
    #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("features.csv").path))
    // tiny-bert re-read as 8 heads of 4 dimensions (the same weight shapes): 2 × 8 against 2 × 4.
    let eight = dir.appendingPathComponent("tiny-8-heads", isDirectory: true)
    try FileManager.default.copyItem(at: Fixtures.tiny, to: eight)
    let configURL = eight.appendingPathComponent("config.json")
    var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
    config["num_attention_heads"] = 8
    try JSONSerialization.data(withJSONObject: config).write(to: configURL)
    let other = try CLI.run([
      "linguistic", "--model", tiny, "--model-b", eight.path, "--input", LinguisticGolden.conllu("sample").path,
      "--out", out.path, "-q",
    ])
    #expect(other.status == 1 && other.stderr.contains("cannot be compared head by head"), "\(other.stderr)")
    #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("features.csv").path))
  }

  @Test("--model-b: both checkpoints' scores side by side and b − a, for the classes that occur")
  func modelB() throws {
    let dir = Fixtures.temporaryDirectory("bertscope-linguistic-b")
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("out")
    let input = LinguisticGolden.conllu("sample").path
    let r = try CLI.run([
      "linguistic", "--model", tiny, "--model-b", Fixtures.model("tiny-bert-f16").path, "--input", input, "--out",
      out.path, "-q",
    ])
    try #require(r.status == 0, "\(r.stderr)")
    let a = try LinguisticResult.read(from: out)
    let c = try LinguisticComparisonResult.read(from: out)
    #expect(c.features.map(\.feature) == a.features.map(\.feature))
    #expect(c.modelB.name == "tiny-bert-f16")
    for (pair, scores) in zip(c.features, a.features) { #expect(pair.a == scores.scores) }
    let text = try String(contentsOf: out.appendingPathComponent("features_compare.csv"), encoding: .utf8)
    #expect(text.hasPrefix("layer,head,feature,score_a,score_b,difference\n"))
    // b is the F16-rounded copy of the same weights: close to a but not identical.
    let differences = c.features.flatMap { p in zip(p.a.joined(), p.b.joined()).map { abs($0 - $1) } }
    #expect(differences.max()! > 0 && differences.max()! < 0.05, "\(differences.max()!)")
  }
}
