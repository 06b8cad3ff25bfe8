import BertScopeAnalysis
import Foundation
import Testing

@testable import BertScope

#if canImport(Glibc)
  import Glibc
#endif

/// A corpus for the sharded runs: 37 lines (prime: no shard count divides it), with blank
/// lines among them (they count as lines, not texts) and pairs.
enum ShardCorpus {
  static let count = 37

  static var lines: [String] {
    (0..<count).map { i in
      if i % 9 == 4 { return "" }
      let (a, b) = AnalysisCorpus.lines[i % AnalysisCorpus.lines.count]
      return b.map { "\(a) \(i)\t\($0)" } ?? "\(a) \(i)"
    }
  }

  /// JSON Lines for `relations`: two span pairs per text.
  static var relations: [String] {
    (0..<23).map { i in #"{"text": "the cat sat on mat \#(i) .", "pairs": [[[0, 3], [4, 7]], [[8, 11], [15, 18]]]}"# }
  }

  /// CoNLL-U for `linguistic`: the non-blank lines' first texts as sentences (33 of them),
  /// each word headed by the one before it, with rotating word classes and relations.
  static var conllu: [String] {
    let upos = ["DET", "NOUN", "VERB", "PRON", "ADP", "PROPN", "AUX"]
    let rels = ["det", "nsubj", "obj", "dobj", "nmod", "case"]
    var out: [String] = []
    for (k, line) in lines.enumerated() where !line.isEmpty {
      let words = line.split(separator: "\t")[0].split(separator: " ").map(String.init)
      out.append("# sent_id = \(k + 1)")
      for (i, w) in words.enumerated() {
        let head = i == 0 ? 0 : i
        let rel = i == 0 ? "root" : rels[(i + k) % rels.count]
        out.append(
          [String(i + 1), w, w, upos[(i + k) % upos.count], "_", "_", String(head), rel, "_", "_"].joined(
            separator: "\t"))
      }
      out.append("")
    }
    return out
  }

  static func write(_ lines: [String], in dir: URL, name: String = "corpus.txt") throws -> URL {
    let url = dir.appendingPathComponent(name)
    try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
    return url
  }
}

/// The first difference between two analysis folders' `files` (CSV cell by cell, JSON key by
/// key, numbers within `tolerance`), nil when none. What measures the work rather than the
/// corpus is ignored: JSON `seconds` and the ablation's `forwardPasses` (batches × passes,
/// which depend on how the lines fell into batches).
func folderDifference(_ a: URL, _ b: URL, files: [String], tolerance: Double) throws -> String? {
  func stripSeconds(_ value: Any) -> Any {
    if let d = value as? [String: Any] {
      return d.filter { $0.key != "seconds" && $0.key != "forwardPasses" }.mapValues(stripSeconds)
    }
    if let l = value as? [Any] { return l.map(stripSeconds) }
    return value
  }
  for name in files {
    let x = a.appendingPathComponent(name), y = b.appendingPathComponent(name)
    guard FileManager.default.fileExists(atPath: x.path) else { return "\(name): missing in \(a.path)" }
    guard FileManager.default.fileExists(atPath: y.path) else { return "\(name): missing in \(b.path)" }
    if name.hasSuffix(".npy") {
      let (u, v) = (try NPY.read(x), try NPY.read(y))
      guard u.shape == v.shape else { return "\(name): shape \(u.shape) vs \(v.shape)" }
      let d = maxAbsDiff(u.values, v.values)
      if Double(d) > tolerance { return "\(name): values differ by \(d)" }
      continue
    }
    if name.hasSuffix(".json") {
      if let d = jsonDifference(
        stripSeconds(try jsonObject(x)), stripSeconds(try jsonObject(y)), tolerance: tolerance, path: name)
      {
        return d
      }
      continue
    }
    let rowsA = try String(contentsOf: x, encoding: .utf8).split(separator: "\n")
    let rowsB = try String(contentsOf: y, encoding: .utf8).split(separator: "\n")
    guard rowsA.count == rowsB.count else { return "\(name): \(rowsA.count) vs \(rowsB.count) lines" }
    for (i, (u, v)) in zip(rowsA, rowsB).enumerated() {
      let cu = u.split(separator: ",", omittingEmptySubsequences: false)
      let cv = v.split(separator: ",", omittingEmptySubsequences: false)
      guard cu.count == cv.count else { return "\(name):\(i + 1): \(u) vs \(v)" }
      for (p, q) in zip(cu, cv) where p != q {
        guard let m = Double(p), let n = Double(q), abs(m - n) <= tolerance else {
          return "\(name):\(i + 1): \(u) vs \(v)"
        }
      }
    }
  }
  return nil
}

/// The printed numbers have 6 decimals: a difference below 1e-6 may still show as one unit.
/// Where the CPU backend uses OpenBLAS (AVX2-only machines), whose kernels depend on the
/// batch's shape, a shard's maps differ from the unsharded run's in the last bits before
/// anything is merged: head distances (≈ 60) then differ by a few 1e-6, so 1e-5 there.
let mergeTolerance = HostGemmTest.packedAvailable ? 1e-6 * (1 + 1e-6) : 1e-5

@Suite("Shards: --shard I/N and auto, parsed and taken")
struct ShardParsingTests {
  @Test("I/N takes the lines whose index from 0 is I mod N: every line exactly once over the shards")
  func takes() throws {
    for n in [1, 2, 4, 7] {
      var owner = [Int](repeating: -1, count: 50)
      for i in 0..<n {
        let shard = try Shard(parsing: "\(i)/\(n)", environment: [:])
        for line in 1...50 where shard.takes(line: line) {
          #expect(owner[line - 1] == -1, "line \(line) taken twice")
          owner[line - 1] = i
        }
      }
      #expect(owner.enumerated().allSatisfy { $0.element == $0.offset % n }, "\(n): \(owner)")
    }
  }

  @Test(
    "malformed shards are refused in one line",
    arguments: [
      ("4/4", "--shard 4/4: the index counts from 0 and must be below the count (0–3)"),
      ("0/0", "--shard 0/0: the count must be at least 1"),
      ("-1/3", "--shard -1/3: the index counts from 0 and must be below the count (0–2)"),
      ("a/b", "--shard a/b: expected I/N (e.g. 0/4, shards counted from 0) or auto"),
      ("3", "--shard 3: expected I/N (e.g. 0/4, shards counted from 0) or auto"),
      ("1/2/3", "--shard 1/2/3: expected I/N (e.g. 0/4, shards counted from 0) or auto"),
    ])
  func malformed(_ text: String, _ message: String) {
    #expect { _ = try Shard(parsing: text, environment: [:]) } throws: { "\($0)" == message }
  }

  @Test("auto is this task of a Slurm array starting at 0; outside one, or in another array, a clear error")
  func auto() throws {
    let env = [
      "SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "5", "SLURM_ARRAY_TASK_MIN": "0",
      "SLURM_ARRAY_TASK_MAX": "4",
    ]
    #expect(try Shard(parsing: "auto", environment: env) == Shard(index: 2, count: 5))
    #expect { _ = try Shard(parsing: "auto", environment: [:]) } throws: {
      "\($0)".hasPrefix("--shard auto: not in a Slurm job array (SLURM_ARRAY_TASK_ID is not set)")
    }
    var from1 = env
    from1["SLURM_ARRAY_TASK_MIN"] = "1"
    #expect { _ = try Shard(parsing: "auto", environment: from1) } throws: {
      "\($0)".contains("the job array starts at 1; shards count from 0")
    }
    var gaps = env
    gaps["SLURM_ARRAY_TASK_MAX"] = "8"
    #expect { _ = try Shard(parsing: "auto", environment: gaps) } throws: { "\($0)".contains("no step, no gaps") }
    var junk = env
    junk["SLURM_ARRAY_TASK_COUNT"] = "many"
    #expect { _ = try Shard(parsing: "auto", environment: junk) } throws: { "\($0)".contains("expected numbers") }
  }
}

/// The sharded commands, run through the CLI: each shard writes what the unsharded run writes
/// for its lines plus its state, and `merge` gives back the unsharded files.
@Suite(
  "Shards: merge of N shards = the unsharded run",
  .enabled(if: CLI.available, "the bertscope binary is not built next to the tests"))
struct ShardMergeTests {
  let tiny = Fixtures.tiny.path

  /// One command: its arguments (without --input/--out), the corpus and the files compared.
  struct Case: Sendable, CustomTestStringConvertible {
    var command: String
    var arguments: [String]
    var relations = false
    /// `linguistic` reads CoNLL-U as --input; `report` gets it as --conllu.
    var conllu = false
    var files: [String]
    var testDescription: String { command }
  }

  static let cases: [Case] = [
    Case(command: "patterns", arguments: [], files: PatternsResult.fileNames),
    Case(command: "special", arguments: [], files: SpecialResult.fileNames),
    Case(command: "ablate", arguments: ["--mode", "zero"], files: AblationResult.fileNames),
    Case(
      command: "compare", arguments: ["--model-b", Fixtures.model("tiny-bert-f16").path],
      files: CompareResult.fileNames),
    Case(command: "relations", arguments: [], relations: true, files: RelationsResult.fileNames),
    Case(command: "clusters", arguments: [], files: ClustersResult.fileNames),
    Case(
      command: "linguistic", arguments: ["--model-b", Fixtures.model("tiny-bert-f16").path], conllu: true,
      files: LinguisticResult.fileNames + LinguisticComparisonResult.fileNames),
    Case(
      command: "report", arguments: ["--ablation-limit", "11", "--model-b", Fixtures.model("tiny-bert-f16").path],
      conllu: true,
      files: PatternsResult.fileNames + SpecialResult.fileNames + AblationResult.fileNames + CompareResult.fileNames
        + LinguisticResult.fileNames + ClustersResult.fileNames + ["example/attention.npy", "example/tokens.json"]),
  ]

  @Test(
    "analysis folders: merge of 1, 2, 4 and 7 shards, given in any order, = the unsharded run within 1e-6",
    arguments: cases)
  func analyses(_ c: Case) throws {
    let dir = Fixtures.temporaryDirectory("bertscope-shards")
    defer { try? FileManager.default.removeItem(at: dir) }
    var input = try ShardCorpus.write(c.relations ? ShardCorpus.relations : ShardCorpus.lines, in: dir)
    var arguments = c.arguments
    if c.conllu {
      let conllu = try ShardCorpus.write(ShardCorpus.conllu, in: dir, name: "corpus.conllu")
      if c.command == "linguistic" { input = conllu } else { arguments += ["--conllu", conllu.path] }
    }
    let base = [c.command, "--model", tiny, "--input", input.path, "-q"] + arguments
    let whole = dir.appendingPathComponent("whole")
    let plain = try CLI.run(base + ["--out", whole.path, "--batch-size", "5"])
    try #require(plain.status == 0, "\(plain.stderr)")
    #expect(
      !FileManager.default.fileExists(atPath: whole.appendingPathComponent("state.json").path),
      "a plain run keeps no state")
    for n in [1, 2, 4, 7] {
      var outputs: [String] = []
      for i in 0..<n {
        let out = dir.appendingPathComponent("\(n)-shard-\(i)")
        let r = try CLI.run(base + ["--out", out.path, "--shard", "\(i)/\(n)", "--batch-size", "5"])
        try #require(r.status == 0, "\(c.command) shard \(i)/\(n): \(r.stderr)")
        outputs.append(out.path)
      }
      let merged = dir.appendingPathComponent("\(n)-merged")
      // Reversed and rotated: the order given does not matter.
      let reversed: [String] = outputs.reversed()
      let order: [String] = Array(reversed[(n / 2)...]) + Array(reversed[..<(n / 2)])
      let m = try CLI.run(["merge", "-q", "--out", merged.path] + order)
      try #require(m.status == 0, "merge of \(n): \(m.stderr)")
      let difference = try folderDifference(whole, merged, files: c.files, tolerance: mergeTolerance)
      #expect(difference == nil, "\(c.command), \(n) shards: \(difference ?? "")")
      if c.command == "report" {
        #expect(
          m.stdout.hasPrefix("file://")
            && FileManager.default.fileExists(atPath: merged.appendingPathComponent("index.html").path))
      }
    }
  }

  @Test("embed: the rows of 1, 2, 4 and 7 shards come back in input order, within 1e-6 of the unsharded run")
  func embed() throws {
    let dir = Fixtures.temporaryDirectory("bertscope-shards")
    defer { try? FileManager.default.removeItem(at: dir) }
    let input = try ShardCorpus.write(ShardCorpus.lines, in: dir)
    let base = ["embed", "--model", tiny, "--input", input.path, "-q"]
    let whole = dir.appendingPathComponent("whole.npy")
    try #require(try CLI.run(base + ["--out", whole.path]).status == 0)
    let reference = try NPY.read(whole)
    #expect(reference.shape == [ShardCorpus.count, 32])
    for n in [1, 2, 4, 7] {
      var outputs: [String] = []
      for i in 0..<n {
        let out = dir.appendingPathComponent("e\(n).shard-\(i).npy")
        let r = try CLI.run(base + ["--out", out.path, "--shard", "\(i)/\(n)", "--batch-size", "\(2 + i)"])
        try #require(r.status == 0, "\(r.stderr)")
        // The shard's file holds its own lines' rows, its state sits beside it.
        #expect(try npyShape(out) == [(ShardCorpus.count - i + n - 1) / n, 32])
        #expect(FileManager.default.fileExists(atPath: out.path + ".state.json"))
        outputs.append(out.path)
      }
      let merged = dir.appendingPathComponent("merged-\(n).npy")
      let m = try CLI.run(["merge", "-q", "--out", merged.path] + outputs.shuffled())
      try #require(m.status == 0, "\(m.stderr)")
      let e = try NPY.read(merged)
      #expect(e.shape == reference.shape)
      #expect(maxAbsDiff(e.values, reference.values) <= 1e-6, "\(n) shards")
    }
  }

  @Test("attention dumps: the texts of 1, 2, 4 and 7 shards come back in input order, offsets recomputed")
  func attentionDump() throws {
    let dir = Fixtures.temporaryDirectory("bertscope-shards")
    defer { try? FileManager.default.removeItem(at: dir) }
    let input = try ShardCorpus.write(ShardCorpus.lines, in: dir)
    let base = ["attention", "--model", tiny, "--input", input.path, "--layers", "2", "-q"]
    let whole = dir.appendingPathComponent("whole")
    try #require(try CLI.run(base + ["--out", whole.path]).status == 0)
    for n in [1, 2, 4, 7] {
      var outputs: [String] = []
      for i in 0..<n {
        let out = dir.appendingPathComponent("d\(n).shard-\(i)")
        let r = try CLI.run(base + ["--out", out.path, "--shard", "\(i)/\(n)", "--batch-size", "\(2 + i)"])
        try #require(r.status == 0, "\(r.stderr)")
        outputs.append(out.path)
      }
      let merged = dir.appendingPathComponent("merged-\(n)")
      let m = try CLI.run(["merge", "-q", "--out", merged.path] + outputs.shuffled())
      try #require(m.status == 0, "\(m.stderr)")
      for name in [AttentionDump.index, AttentionDump.tokens] {
        #expect(
          try Data(contentsOf: merged.appendingPathComponent(name))
            == Data(contentsOf: whole.appendingPathComponent(name)),
          "\(name), \(n) shards")
      }
      #expect(
        try folderDifference(whole, merged, files: [AttentionDump.attention], tolerance: 1e-6) == nil, "\(n) shards")
    }
  }

  @Test("a run takes its shard from the Slurm array's environment with --shard auto")
  func auto() throws {
    let dir = Fixtures.temporaryDirectory("bertscope-shards")
    defer { try? FileManager.default.removeItem(at: dir) }
    let input = try ShardCorpus.write(ShardCorpus.lines, in: dir)
    var outputs: [String] = []
    for i in 0..<3 {
      let out = dir.appendingPathComponent("s\(i)")
      let env = [
        "SLURM_ARRAY_TASK_ID": "\(i)", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "0",
        "SLURM_ARRAY_TASK_MAX": "2",
      ]
      let r = try CLI.run(
        ["special", "--model", tiny, "--input", input.path, "--out", out.path, "--shard", "auto", "-q"], env: env)
      try #require(r.status == 0, "\(r.stderr)")
      let state = try RunState.read(from: out.appendingPathComponent("state.json"))
      #expect(state.shard == (try Shard(index: i, count: 3)) && state.complete && state.command == "special")
      outputs.append(out.path)
    }
    let outside = try CLI.run(
      [
        "special", "--model", tiny, "--input", input.path, "--out", dir.appendingPathComponent("x").path, "--shard",
        "auto",
      ],
      unset: ["SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX"])
    #expect(outside.status == 1)
    #expect(
      outside.stderr.hasPrefix("error: --shard auto: not in a Slurm job array")
        && outside.stderr.split(separator: "\n").count == 1)
    let whole = dir.appendingPathComponent("whole")
    try #require(
      try CLI.run(["special", "--model", tiny, "--input", input.path, "--out", whole.path, "-q"]).status == 0)
    let merged = dir.appendingPathComponent("merged")
    try #require(try CLI.run(["merge", "-q", "--out", merged.path] + outputs).status == 0)
    #expect(try folderDifference(whole, merged, files: SpecialResult.fileNames, tolerance: mergeTolerance) == nil)
  }

  @Test("bad shards and merges: one line naming the culprit, a non-zero exit, nothing written")
  func refused() throws {
    let dir = Fixtures.temporaryDirectory("bertscope-shards")
    defer { try? FileManager.default.removeItem(at: dir) }
    let input = try ShardCorpus.write(ShardCorpus.lines, in: dir)
    let other = try ShardCorpus.write(ShardCorpus.lines.reversed(), in: dir, name: "other.txt")
    func error(_ args: [String]) throws -> String {
      let r = try CLI.run(args)
      #expect(r.status == 1, "\(args): \(r.stderr)")
      #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
      return r.stderr
    }
    let special = ["special", "--model", tiny, "-q"]
    for bad in ["4/4", "0/0", "-1/3", "a/b"] {
      let out = dir.appendingPathComponent("bad")
      #expect(
        try error(special + ["--input", input.path, "--out", out.path, "--shard=\(bad)"]).hasPrefix(
          "error: --shard \(bad): "))
      #expect(!FileManager.default.fileExists(atPath: out.path))
    }
    #expect(
      try error(special + ["--input", "-", "--out", dir.appendingPathComponent("x").path, "--resume"]).contains(
        "give a file, not - (stdin)"))

    func shard(_ name: String, _ i: Int, _ n: Int, input: URL, extra: [String] = [], command: [String]? = nil) throws
      -> String
    {
      let out = dir.appendingPathComponent(name)
      let r = try CLI.run(
        (command ?? special) + ["--input", input.path, "--out", out.path, "--shard", "\(i)/\(n)"] + extra)
      try #require(r.status == 0, "\(r.stderr)")
      return out.path
    }
    let a0 = try shard("a0", 0, 2, input: input), a1 = try shard("a1", 1, 2, input: input)
    let b1 = try shard("b1", 1, 2, input: other)
    let merged = dir.appendingPathComponent("merged").path
    let merge = ["merge", "--out", merged]
    #expect(try error(merge + [a0]) == "error: merge: shard 1/2 is missing: give all 2 shards of the run\n")
    #expect(try error(merge + [a0, a1, a0]) == "error: merge: shard 0/2 is given twice: \(a0) and \(a0)\n")
    let otherInput = try error(merge + [a0, b1])
    #expect(otherInput.hasPrefix("error: merge: \(b1) is a shard of another input (\(other.path), "), "\(otherInput)")
    let c1 = try shard("c1", 1, 3, input: input)
    #expect(try error(merge + [a0, c1]) == "error: merge: \(c1) is shard 1/3 but \(a0) is shard 0/2\n")
    let p1 = try shard("p1", 1, 2, input: input, command: ["patterns", "--model", tiny, "-q"])
    #expect(try error(merge + [a0, p1]) == "error: merge: \(p1) is a patterns run, \(a0) a special run\n")
    let ablate = ["ablate", "--model", tiny, "-q"]
    let z0 = try shard("z0", 0, 2, input: input, command: ablate + ["--mode", "zero"])
    let u1 = try shard("u1", 1, 2, input: input, command: ablate)
    #expect(try error(merge + [z0, u1]).hasPrefix("error: merge: \(u1) ran ablation with other options than \(z0)"))
    let f1 = try shard(
      "f1", 1, 2, input: input, command: ["special", "--model", Fixtures.model("tiny-bert-f16").path, "-q"])
    #expect(try error(merge + [a0, f1]).hasPrefix("error: merge: \(f1) was made with another model"))
    #expect(try error(merge + [a0, dir.appendingPathComponent("nowhere").path]).contains("no such shard"))
    // A state file cut short is refused, naming it.
    let state = URL(fileURLWithPath: a1).appendingPathComponent("state.json")
    let text = try Data(contentsOf: state)
    try text.prefix(text.count / 2).write(to: state)
    #expect(try error(merge + [a0, a1]).hasPrefix("error: \(state.path): "))
    #expect(try error(merge + [a0, a0]).contains("given twice"))
    #expect(!FileManager.default.fileExists(atPath: merged))
    // An unsharded output has no state; --out must not overwrite a shard.
    let plain = dir.appendingPathComponent("plain")
    try #require(try CLI.run(special + ["--input", input.path, "--out", plain.path]).status == 0)
    #expect(try error(merge + [plain.path]).contains("has no state file"))
    #expect(try error(["merge", "--out", a0, a0]).contains("is one of the shards"))
    // --resume of another shard's state.
    #expect(
      try error(special + ["--input", input.path, "--out", a0, "--shard", "1/2", "--resume"]).contains(
        "is shard 0/2, this run is shard 1/2"))
  }
}

/// Long runs stopped half way (SIGKILL: nothing saved then; SIGTERM: a checkpoint saved on the
/// way out) and continued with --resume give the numbers of an uninterrupted run.
@Suite(
  "Resumable runs: --checkpoint-every and --resume",
  .enabled(if: CLI.available, "the bertscope binary is not built next to the tests"))
struct ResumeTests {
  let tiny = Fixtures.tiny.path

  static let lines = 12_000

  /// The position of the state's first part, or nil while there is none.
  static func linesDone(_ state: URL) -> Int? {
    (try? RunState.read(from: state))?.parts.first.map(\.position.lines)
  }

  @Test("--resume refuses an input changed since the checkpoint; a finished run resumes to the same files")
  func changedInput() throws {
    let dir = Fixtures.temporaryDirectory("bertscope-resume")
    defer { try? FileManager.default.removeItem(at: dir) }
    let input = dir.appendingPathComponent("corpus.txt")
    try writeLines(Self.lines, to: input)
    let out = dir.appendingPathComponent("out")
    let state = RunState.url(for: out, isFolder: true)
    let args = ["patterns", "--model", tiny, "--input", input.path, "--out", out.path, "--batch-size", "16", "-q"]
    let child = try Child.spawn(args + ["--checkpoint-every", "2"])
    let deadline = Date().addingTimeInterval(120)
    while Date() < deadline, (Self.linesDone(state) ?? 0) < 1000 { usleep(5_000) }
    kill(child.pid, SIGTERM)
    #expect(child.wait().status == 128 + SIGTERM)
    try #require(!(try RunState.read(from: state).complete))
    var text = try String(contentsOf: input, encoding: .utf8)
    text.replaceSubrange(text.startIndex..<text.index(text.startIndex, offsetBy: 2), with: "zz")
    try text.write(to: input, atomically: true, encoding: .utf8)
    let refused = try CLI.run(args + ["--resume"])
    #expect(refused.status == 1)
    #expect(
      refused.stderr.hasPrefix("error: --resume: \(input.path) is not the input the checkpoint was made from")
        && refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")

    // Without --resume it starts afresh; then --resume on the finished run changes nothing.
    try #require(try CLI.run(args + ["--checkpoint-every", "50"]).status == 0)
    let before = try Data(contentsOf: out.appendingPathComponent("patterns.csv"))
    let again = try CLI.run(args + ["--resume"])
    #expect(again.status == 0, "\(again.stderr)")
    #expect(try Data(contentsOf: out.appendingPathComponent("patterns.csv")) == before)
  }

  @Test(
    "stopped half way, resumed: equal to the uninterrupted run",
    arguments: [
      ("special", SIGKILL), ("special", SIGTERM), ("embed", SIGKILL), ("embed", SIGTERM), ("attention", SIGKILL),
      ("attention", SIGTERM),
    ])
  func resumed(_ command: String, _ signal: Int32) throws {
    let dir = Fixtures.temporaryDirectory("bertscope-resume")
    defer { try? FileManager.default.removeItem(at: dir) }
    let input = dir.appendingPathComponent("corpus.txt")
    try writeLines(Self.lines, to: input)
    let embed = command == "embed"
    let out = dir.appendingPathComponent(embed ? "e.npy" : "out")
    let state = RunState.url(for: out, isFolder: !embed)
    let args = [command, "--model", tiny, "--input", input.path, "--out", out.path, "--batch-size", "16", "-q"]
    let checkpointing = args + ["--checkpoint-every", "4"]

    let child = try Child.spawn(checkpointing)
    let deadline = Date().addingTimeInterval(120)
    while Date() < deadline, (Self.linesDone(state) ?? 0) < Self.lines / 2 { usleep(5_000) }
    kill(child.pid, signal)
    let stopped = child.wait()
    let saved = try RunState.read(from: state)
    try #require(!saved.complete, "the run ended before it was stopped: make the corpus longer")
    let at = try #require(saved.parts.first).position.lines
    #expect(at > 0 && at < Self.lines)
    if signal == SIGKILL {
      #expect(stopped.signal == SIGKILL)
    } else {
      #expect(stopped.status == 128 + SIGTERM, "\(stopped)")
      #expect(
        stopped.stderr.contains("interrupted (SIGTERM): checkpoint saved after line \(at) of \(input.path)")
          && stopped.stderr.hasSuffix("rerun the same command with --resume\n"), "\(stopped.stderr)")
    }
    let first = command == "attention" ? AttentionDump.attention : "special.csv"
    #expect(!FileManager.default.fileExists(atPath: (embed ? out : out.appendingPathComponent(first)).path))

    let resumed = try CLI.run(checkpointing.filter { $0 != "-q" } + ["--resume"])
    try #require(resumed.status == 0, "\(resumed.stderr)")
    #expect(resumed.stderr.contains("resuming \(state.path)"), "\(resumed.stderr)")
    #expect(try RunState.read(from: state).complete)

    let whole = dir.appendingPathComponent(embed ? "whole.npy" : "whole")
    let plain = try CLI.run(args.map { $0 == out.path ? whole.path : $0 })
    try #require(plain.status == 0, "\(plain.stderr)")
    if embed {
      let (a, b) = (try NPY.read(out), try NPY.read(whole))
      #expect(a.shape == [Self.lines, 32] && a.shape == b.shape)
      #expect(maxAbsDiff(a.values, b.values) <= 1e-6)
      #expect(
        try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == [
          "corpus.txt", "e.npy", "e.npy.state.json", "whole.npy",
        ])
    } else {
      let files = command == "attention" ? AttentionDump.fileNames : SpecialResult.fileNames
      #expect(try folderDifference(whole, out, files: files, tolerance: mergeTolerance) == nil)
    }
  }
}

/// `attention --input`: every text's maps in one 1-D array, found through index.csv.
@Suite(
  "Attention dumps of a corpus", .enabled(if: CLI.available, "the bertscope binary is not built next to the tests"))
struct AttentionDumpTests {
  let tiny = Fixtures.tiny.path

  @Test("every block equals `attention --text` of its line; float16 within 5e-4; blank lines skipped")
  func blocks() throws {
    let dir = Fixtures.temporaryDirectory("bertscope-dump")
    defer { try? FileManager.default.removeItem(at: dir) }
    let lines = ["the cat sat on the mat .", "", "how are you\ti am fine , thank you .", "one", "time and time again"]
    let input = try ShardCorpus.write(lines, in: dir)
    let dump = dir.appendingPathComponent("dump")
    let r = try CLI.run([
      "attention", "--model", tiny, "--input", input.path, "--out", dump.path, "--heads", "1,3", "--batch-size", "3",
    ])
    try #require(r.status == 0, "\(r.stderr)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: dump.path).sorted() == AttentionDump.fileNames.sorted())
    let index = try AttentionDump.readIndex(dump.appendingPathComponent(AttentionDump.index))
    #expect(index.map(\.line) == [1, 3, 4, 5])
    #expect(
      try String(contentsOf: dump.appendingPathComponent(AttentionDump.index), encoding: .utf8).hasPrefix(
        "line,tokens,offset\n"))
    let all = try NPY.read(dump.appendingPathComponent(AttentionDump.attention))
    let tokenLines = try String(contentsOf: dump.appendingPathComponent(AttentionDump.tokens), encoding: .utf8)
      .split(separator: "\n")
    #expect(tokenLines.count == index.count)
    var end = 0
    for (k, entry) in index.enumerated() {
      let fields = lines[entry.line - 1].split(separator: "\t").map(String.init)
      let single = dir.appendingPathComponent("single-\(entry.line)")
      let one = try CLI.run(
        ["attention", "--model", tiny, "--text", fields[0], "--out", single.path, "--heads", "1,3"]
          + (fields.count > 1 ? ["--pair", fields[1]] : []))
      try #require(one.status == 0, "\(one.stderr)")
      let maps = try NPY.read(single.appendingPathComponent("attention.npy"))
      #expect(maps.shape == [2, 2, entry.tokens, entry.tokens])
      #expect(entry.offset == end)
      end = entry.offset + maps.values.count
      let block = all.values[entry.offset..<end]
      #expect(maxAbsDiff(block, maps.values) <= 1e-6, "line \(entry.line)")
      let tokens = try JSONSerialization.jsonObject(with: Data(tokenLines[k].utf8)) as? [String: Any]
      let expected = try AnalysisJSON.read(TokensFile.self, from: single.appendingPathComponent("tokens.json"))
      let object = try #require(tokens)
      #expect(object["tokens"] as? [String] == expected.tokens && Set(object.keys) == ["tokens", "ids", "segments"])
    }
    #expect(all.shape == [end])

    let half = dir.appendingPathComponent("half")
    let h = try CLI.run([
      "attention", "--model", tiny, "--input", input.path, "--out", half.path, "--heads", "1,3", "--dtype", "float16",
    ])
    try #require(h.status == 0, "\(h.stderr)")
    let halves = try NPY.read(half.appendingPathComponent(AttentionDump.attention))
    #expect(halves.dtype == .float16 && halves.shape == all.shape)
    let error = maxAbsDiff(halves.values, all.values)
    #expect(error > 0 && error <= 5e-4, "float16 error \(error)")
    #expect(
      try Data(contentsOf: half.appendingPathComponent(AttentionDump.index))
        == Data(contentsOf: dump.appendingPathComponent(AttentionDump.index)))

    let bad = try CLI.run([
      "attention", "--model", tiny, "--input", input.path, "--out", half.path, "--dtype", "float64",
    ])
    #expect(bad.status != 0 && bad.stderr.contains("float64"))
    let both = try CLI.run(["attention", "--model", tiny, "--input", input.path, "--text", "x", "--out", half.path])
    #expect(both.status != 0 && both.stderr.contains("not both"))
  }

  /// Runs `attention --input` into `out` under `limit`, after a complete dump of `small` was
  /// written there: the failed run must exit non-zero with one line naming attention.npy,
  /// leave no partial file, and leave the earlier dump as it was.
  func fillsUp(_ dir: URL, out: URL, limit: (_ args: [String]) throws -> CLI.Result) throws {
    let small = try ShardCorpus.write(["a short line .", "and another one"], in: dir, name: "small.txt")
    let good = try CLI.run(["attention", "--model", tiny, "--input", small.path, "--out", out.path, "-q"])
    try #require(good.status == 0, "\(good.stderr)")
    let before = try AttentionDump.fileNames.map { try Data(contentsOf: out.appendingPathComponent($0)) }
    let long = (0..<400).map { "line \($0) : the cat sat on the mat while the dog slept by the door ." }
    let big = try ShardCorpus.write(long, in: dir, name: "big.txt")
    let r = try limit(["attention", "--model", tiny, "--input", big.path, "--out", out.path, "-q"])
    let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("note:") }
    #expect(r.status != 0)
    #expect(lines.count == 1 && lines.first?.contains("attention.npy") == true, "\(r.stderr)")
    let left = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
    #expect(left == AttentionDump.fileNames.sorted(), "files left: \(left)")
    let after = try AttentionDump.fileNames.map { try Data(contentsOf: out.appendingPathComponent($0)) }
    #expect(after == before, "the earlier dump was changed")
  }

  @Test("an output folder that cannot be made or written: one line naming it, exit 1, nothing written")
  func unwritableFolder() throws {
    let dir = Fixtures.temporaryDirectory("bertscope-dump-unwritable")
    defer { try? FileManager.default.removeItem(at: dir) }
    let input = try ShardCorpus.write(["a short line ."], in: dir)
    let file = dir.appendingPathComponent("a-file")
    try Data("x".utf8).write(to: file)
    var targets = [file.appendingPathComponent("dump")]  // a folder inside a file: ENOTDIR
    var disk: TinyDisk?
    if TinyDisk.available {
      disk = try TinyDisk(megabytes: 1, readOnly: true)  // EROFS, which root cannot override
      targets.append(disk!.url.appendingPathComponent("dump"))
    }
    defer { disk?.unmount() }
    for out in targets {
      let r = try CLI.run(["attention", "--model", tiny, "--input", input.path, "--out", out.path, "-q"])
      let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("note:") }
      #expect(r.status == 1, "\(out.path): \(r.stderr)")
      #expect(lines.count == 1 && lines.first?.contains(out.deletingLastPathComponent().path) == true, "\(r.stderr)")
      #expect(!FileManager.default.fileExists(atPath: out.path))
    }
    #expect(try Data(contentsOf: file) == Data("x".utf8))
  }

  @Test("a file-size limit hit mid-dump (EFBIG): one line naming the file, no partial file, the earlier dump kept")
  func fileSizeLimit() throws {
    let dir = Fixtures.temporaryDirectory("bertscope-dump-limit")
    defer { try? FileManager.default.removeItem(at: dir) }
    // The shell ignores SIGXFSZ (kept across exec), so an over-limit write fails with EFBIG.
    try fillsUp(dir, out: dir.appendingPathComponent("dump")) { args in
      try CLI.run(
        ["-c", "trap '' XFSZ; ulimit -f 256; exec \"$0\" \"$@\"", CLI.binary.path] + args, executable: "/bin/sh")
    }
  }

  @Test(
    "a disk that fills up mid-dump (ENOSPC, a 1 MiB tmpfs): one line naming the file, no partial file, the earlier dump kept",
    .enabled(
      if: TinyDisk.available, "mounting a tmpfs needs root with CAP_SYS_ADMIN (the file-size test covers the same path)"
    ))
  func diskFull() throws {
    let disk = try TinyDisk(megabytes: 1)
    defer { disk.unmount() }
    let dir = Fixtures.temporaryDirectory("bertscope-dump-full")
    defer { try? FileManager.default.removeItem(at: dir) }
    try fillsUp(dir, out: disk.url.appendingPathComponent("dump")) { args in try CLI.run(args) }
  }
}

/// A tmpfs of a few MiB mounted for a test (root with CAP_SYS_ADMIN only).
struct TinyDisk {
  let url: URL

  static let available: Bool = {
    guard getuid() == 0, let disk = try? TinyDisk(megabytes: 1) else { return false }
    disk.unmount()
    return true
  }()

  init(megabytes: Int, readOnly: Bool = false) throws {
    url = Fixtures.temporaryDirectory("bertscope-tmpfs")
    let options = "size=\(megabytes)m" + (readOnly ? ",ro" : "")
    let r = try CLI.run(["-t", "tmpfs", "-o", options, "tmpfs", url.path], executable: "/bin/mount")
    guard r.status == 0 else {
      try? FileManager.default.removeItem(at: url)
      throw BertScopeError.io(path: url.path, problem: "mount: \(r.stderr)")
    }
  }

  func unmount() {
    _ = try? CLI.run([url.path], executable: "/bin/umount")
    try? FileManager.default.removeItem(at: url)
  }
}
