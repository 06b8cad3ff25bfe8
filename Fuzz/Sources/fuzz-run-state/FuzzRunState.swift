import BertScope
import BertScopeAnalysis
import Foundation
import FuzzSupport

/// `bertscope merge` on arbitrary state files of sharded runs: `RunState.read(from:)` of each
/// shard's `state.json`, `MergedRun(outputs:)` over the shards whose state read, the merged
/// analysis results (`results()` and their CSV tables), and `AttentionDump.readIndex` of a
/// dump's `index.csv`.
///
/// Input: split at "\n--\n" into up to three parts; part k is `state.json` of scratch folder k
/// (a shard's `--out`), and the last part is also read as an `index.csv`. Checks: errors are
/// one-line `BertScopeError`s; a merge that succeeds has its shards in index order 0..<N, one
/// per folder given, and every merged part's examples, tokens and lines consistent with the
/// shards'; index entries have lines from 1 and non-negative counts and offsets.
let maxParts = 3

let root: URL = {
  let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("bertscope-fuzz-run-state-\(getpid())")
  try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}()

let shardFolders: [URL] = (0..<maxParts).map { k in
  let url = root.appendingPathComponent("shard\(k)", isDirectory: true)
  try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

let indexFile = root.appendingPathComponent("dump").appendingPathComponent(AttentionDump.index)

func write(_ content: Data, to url: URL) {
  unlink(url.path)
  if !FileManager.default.fileExists(atPath: url.deletingLastPathComponent().path) {
    try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
  }
  guard FileManager.default.createFile(atPath: url.path, contents: content) else {
    Fuzz.fail("cannot write \(url.path)")
  }
}

/// `values` added up, or nil on overflow (the merge must then have refused or trapped).
func sum(_ values: [Int]) -> Int? {
  var total = 0
  for v in values {
    let (s, overflow) = total.addingReportingOverflow(v)
    if overflow { return nil }
    total = s
  }
  return total
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRunState(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
  let data = Fuzz.data(start, count)
  let parts = data.split(separator: Array("\n--\n".utf8), maxSplits: maxParts - 1, omittingEmptySubsequences: false)
    .map { Data($0) }

  // Each part a shard's state file; the folders whose state reads go to the merge.
  var readable: [URL] = []
  var states: [RunState] = []
  for (k, folder) in shardFolders.enumerated() {
    let url = RunState.url(for: folder, isFolder: true)
    guard k < parts.count else {
      unlink(url.path)
      continue
    }
    write(parts[k], to: url)
    guard let state = Fuzz.expectTypedError({ try RunState.read(from: url) }) else { continue }
    Fuzz.check(state.format == RunState.currentFormat, "read a state of format \(state.format.debugDescription)")
    Fuzz.check(
      state.shard.count >= 1 && (0..<state.shard.count).contains(state.shard.index), "read shard \(state.shard)")
    readable.append(folder)
    states.append(state)
  }

  if !readable.isEmpty, let merged = Fuzz.expectTypedError({ try MergedRun(outputs: readable) }) {
    checkMerge(merged, states)
    if merged.command != "embed" && merged.command != "attention" {
      if let results = Fuzz.expectTypedError({ try merged.results() }) {
        Fuzz.check(!results.isEmpty, "results() of a \(merged.command) merge is empty")
        for result in results {
          let tables = result.tables
          Fuzz.check(
            tables.count == type(of: result).tableFiles.count,
            "\(type(of: result).name): \(tables.count) tables for \(type(of: result).tableFiles.count) files")
          for table in tables { Fuzz.check(table.text.hasSuffix("\n"), "\(type(of: result).name): unterminated CSV") }
        }
      }
    }
  }

  // The last part as a dump's index.csv.
  write(parts.last ?? Data(), to: indexFile)
  if let entries = Fuzz.expectTypedError({ try AttentionDump.readIndex(indexFile) }) {
    for e in entries {
      Fuzz.check(e.line >= 1, "index entry with line \(e.line)")
      Fuzz.check(e.tokens >= 0 && e.offset >= 0, "index entry \(e) with a negative count")
    }
  }
  return 0
}

/// What a successful merge of the shards in `states` (one per folder, in folder order) promises.
func checkMerge(_ merged: MergedRun, _ states: [RunState]) {
  let n = merged.shards.count
  Fuzz.check(n == states.count, "merged \(n) shards of \(states.count) given")
  Fuzz.check(
    merged.shards.map(\.state.shard.index) == Array(0..<n),
    "shards not in index order: \(merged.shards.map(\.state.shard.index))")
  Fuzz.check(merged.shards.allSatisfy { $0.state.shard.count == n }, "shards of another count merged")
  Fuzz.check(merged.shards.allSatisfy(\.state.complete), "an incomplete shard merged")
  Fuzz.check(merged.shards.allSatisfy { $0.state.command == merged.command }, "shards of other commands merged")
  Fuzz.check(
    !merged.backends.isEmpty && Set(merged.backends).count == merged.backends.count, "backends \(merged.backends)")
  let reference = merged.shards[0].state
  Fuzz.check(
    merged.parts.map(\.name) == reference.parts.map(\.name),
    "merged parts \(merged.parts.map(\.name)), shard 0 has \(reference.parts.map(\.name))")
  for part in merged.parts {
    let mine = merged.shards.map { $0.state.part(part.name) }
    guard mine.allSatisfy({ $0 != nil }) else { Fuzz.fail("merged \(part.name), which a shard lacks") }
    let shardParts = mine.map { $0! }
    if let examples = sum(shardParts.map(\.position.examples)) {
      Fuzz.check(
        part.position.examples == examples,
        "\(part.name): \(part.position.examples) examples merged, the shards hold \(examples)")
    } else {
      Fuzz.fail("\(part.name): the shards' examples overflow, yet they merged")
    }
    if let tokens = sum(shardParts.map(\.position.tokens)) {
      Fuzz.check(
        part.position.tokens == tokens, "\(part.name): \(part.position.tokens) tokens merged, the shards hold \(tokens)"
      )
    }
    Fuzz.check(
      part.position.lines == shardParts[0].position.lines && part.position.texts == shardParts[0].position.texts,
      "\(part.name): lines and texts are not shard 0's")
  }
}
