import ArgumentParser
import BertScope
import BertScopeAnalysis
import BertScopeReport
import Foundation

struct MergeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "merge",
    abstract: "Combine the shards of a sharded run (--shard I/N) into exactly what the unsharded run writes.",
    discussion: """
      Each SHARD is what a sharded run's --out named: a folder for patterns, special, ablate, \
      compare, relations, linguistic, clusters and report (its state.json holds the shard's sums and counts), an .npy \
      file for embed (its state is X.npy.state.json). OUT gets the unsharded run's files: the \
      same names, headers and shapes, the statistics merged from sums and counts (not averaged \
      means), the rows of embed back in input order; a report's page is drawn from the merged \
      files. The shards may come in any order. Refused, naming the culprit: a missing or \
      repeated shard, an unfinished one (rerun it with --resume), shards of different inputs \
      (compared by size and SHA-256, not path), models, options or commands, a corrupt state file.
      """)

  @Option(help: "Output: a folder (analyses, report) or an .npy file (embed).") var out: String
  @Argument(help: "The shards' outputs (each sharded run's --out).") var shards: [String]
  @Flag(name: .shortAndLong, help: "No notes on stderr.") var quiet = false

  func validate() throws {
    guard !shards.isEmpty else { throw ValidationError("give the shards' outputs: bertscope merge --out OUT SHARD…") }
  }

  func note(_ message: String) { notes?(message) }

  var notes: NoteSink? {
    if quiet { return nil }
    return { message in printError("note: \(message)") }
  }

  func run() throws {
    let urls = shards.map { URL(fileURLWithPath: $0).standardizedFileURL }
    let target = URL(fileURLWithPath: out).standardizedFileURL
    if let clash = urls.first(where: { $0.path == target.path }) {
      throw BertScopeError.invalidInput("merge: --out \(out) is one of the shards (\(clash.path)); give a new output")
    }
    let merged = try MergedRun(outputs: urls)
    let n = merged.shards.count
    let texts = merged.parts.first?.position.examples ?? 0
    if merged.command == "embed" {
      let rows = try merged.writeRows(to: target)
      let columns = try NPY.header(of: target).shape.last ?? 0
      note("merged \(n) shards of embed: wrote \(target.path) [\(rows), \(columns)]")
      return
    }
    if merged.command == "attention" {
      let texts = try merged.writeAttentionDump(to: target)
      note(
        "merged \(n) shards of attention: wrote \(target.path)/attention.npy (\(texts) texts), index.csv, tokens.jsonl")
      return
    }
    var written: [URL] = []
    for result in try merged.results() { written += try result.write(to: target) }
    note(
      "merged \(n) shards of \(merged.command) (\(texts) texts): wrote \(written.map(\.path).joined(separator: ", "))")
    if merged.command == "report" { try drawReport(merged, into: target) }
  }

  /// Copies shard 0's example (the model view) and report.json, then draws the page from the
  /// merged files, as `report --from` does.
  private func drawReport(_ merged: MergedRun, into folder: URL) throws {
    let first = URL(fileURLWithPath: merged.shards[0].name, isDirectory: true)
    for name in ["example/attention.npy", "example/tokens.json"] {
      let source = first.appendingPathComponent(name)
      guard FileManager.default.fileExists(atPath: source.path) else { continue }
      try AtomicFile.write(try FileBytes.read(source, limit: NPY.maxFileBytes), to: folder.appendingPathComponent(name))
    }
    let recordURL = first.appendingPathComponent(ReportRecord.fileName)
    if var record = try? AnalysisJSON.read(ReportRecord.self, from: recordURL) {
      record.examples =
        (merged.part(MergedRun.statisticsPart) ?? merged.part(MergedRun.clustersPart))?.position.examples
      record.stages = [
        .init(
          name: "\(merged.shards.count) shards (seconds added up)",
          seconds: merged.parts.map(\.position.seconds).reduce(0, +))
      ]
      try AnalysisJSON.write(record, to: folder.appendingPathComponent(ReportRecord.fileName))
    }
    let missing = first.path
    var report = ReportRun(plan: ReportPlan(from: folder), folder: folder, notes: notes) {
      () throws -> AnalysisSession in
      throw BertScopeError.invalidInput("merge: the report's example is missing from \(missing)")
    }
    let page = try report.run()
    note("open \(page.index.absoluteString)")
    print(page.index.absoluteString)
  }
}
