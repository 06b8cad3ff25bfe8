import Foundation
import Testing

@testable import BertScope
@testable import BertScopeAnalysis

/// Every analysis command on every model family, as a user runs them: RoBERTa (byte-level
/// BPE), XLM-RoBERTa (Unigram + Precompiled), DistilBERT and ELECTRA (WordPiece from
/// `tokenizer.json`), and a BERT saved without `vocab.txt`.
@Suite(
  "every analysis on every model family",
  .enabled(if: CLI.available, "the bertscope binary is not built next to the tests"))
struct ModelFamilyCLITests {
  static let folders = ["tiny-roberta", "tiny-xlm-roberta", "tiny-distilbert", "tiny-electra", "tiny-bert-json"]

  @Test("report (patterns, special, ablation, comparison), relations, attention and tokenize", arguments: folders)
  func analyses(_ folder: String) throws {
    let model = Fixtures.model(folder).path
    let dir = Fixtures.temporaryDirectory("bertscope-family")
    defer { try? FileManager.default.removeItem(at: dir) }
    let input = try ShardCorpus.write(Array(ShardCorpus.lines.prefix(9)), in: dir)
    let report = dir.appendingPathComponent("report")
    let r = try CLI.run([
      "report", "--model", model, "--model-b", model, "--input", input.path, "--out", report.path,
      "--ablation-limit", "3", "-q",
    ])
    try #require(r.status == 0, "\(folder): \(r.stderr)")
    let special = try SpecialResult.read(from: report)
    // Every head gives the sequence start and the separators some attention, whatever they are called.
    #expect(
      special.perHead.joined().allSatisfy { $0[.cls] > 0 && $0[.sep] > 0 },
      "\(folder): [CLS]/<s> and [SEP]/</s> found by role")
    let relations = try ShardCorpus.write(ShardCorpus.relations, in: dir, name: "relations.jsonl")
    let rel = try CLI.run([
      "relations", "--model", model, "--input", relations.path, "--out", dir.appendingPathComponent("rel").path, "-q",
    ])
    #expect(rel.status == 0, "\(folder) relations: \(rel.stderr)")
    let out = dir.appendingPathComponent("attention")
    let a = try CLI.run([
      "attention", "--model", model, "--text", "the cat sat", "--pair", "on the mat", "--out", out.path,
    ])
    try #require(a.status == 0, "\(folder) attention: \(a.stderr)")
    let info =
      try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("tokens.json")))
      as? [String: Any]
    let tokenizer = try Tokenizer.load(from: Fixtures.model(folder))
    let expected = try tokenizer.encode("the cat sat", pair: "on the mat")
    #expect(info?["tokens"] as? [String] == expected.tokens)
    #expect(try NPY.read(out.appendingPathComponent("attention.npy")).shape == [2, 4, expected.count, expected.count])
    let t = try CLI.run(["tokenize", "--model", model, "--text", "the cat sat", "--offsets"])
    #expect(t.status == 0 && t.stdout.contains("\"offsets\""), "\(folder) tokenize: \(t.stderr)")
  }

  @Test(
    "ablate --task classify on each family's classification checkpoint",
    arguments: ["tiny-roberta-cls", "tiny-distilbert-cls", "tiny-electra-cls"])
  func classify(_ folder: String) throws {
    let dir = Fixtures.temporaryDirectory("bertscope-family")
    defer { try? FileManager.default.removeItem(at: dir) }
    let lines = ShardCorpus.lines.prefix(8).enumerated().map { i, text in "\(text)\t\(i % 2 == 0 ? "neg" : "pos")" }
    let input = try ShardCorpus.write(lines, in: dir)
    let out = dir.appendingPathComponent("ablation")
    let r = try CLI.run([
      "ablate", "--model", Fixtures.model(folder).path, "--task", "classify", "--input", input.path, "--out", out.path,
      "-q",
    ])
    #expect(r.status == 0, "\(folder): \(r.stderr)")
    #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("ablation.csv").path))
  }

  @Test("a folder without a classification head: ablate --task classify says what it needs")
  func classifyWithoutHead() throws {
    let dir = Fixtures.temporaryDirectory("bertscope-family")
    defer { try? FileManager.default.removeItem(at: dir) }
    let input = try ShardCorpus.write(["a text\tneg"], in: dir)
    let r = try CLI.run([
      "ablate", "--model", Fixtures.model("tiny-roberta").path, "--task", "classify", "--input", input.path, "--out",
      dir.appendingPathComponent("x").path, "-q",
    ])
    #expect(
      r.status != 0 && r.stderr.contains("ForSequenceClassification") && r.stderr.split(separator: "\n").count == 1)
  }
}
