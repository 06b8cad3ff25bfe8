import ArgumentParser
import BertScope
import BertScopeAnalysis
import Foundation

/// Which model and which backend: shared by every command that runs the model.
struct ModelOptions: ParsableArguments {
  @Option(help: "Hugging Face BERT model folder (default: $BERTSCOPE_MODEL, else the installed all-MiniLM-L6-v2).")
  var model: String?

  @Option(help: "Backend: cpu, opencl or auto (auto takes a GPU OpenCL device when there is one, else the CPU).")
  var backend: BackendKind = .cpu

  @Option(
    help: "OpenCL device index, as listed by `bertscope devices` (default: the first GPU, else the first device).")
  var device: Int?

  @Flag(help: "Fail on inputs longer than the model's maximum instead of truncating them.")
  var noTruncate = false

  @Flag(name: .shortAndLong, help: "No progress or notes on stderr.")
  var quiet = false

  var directory: URL { ModelLocator.resolve(model) }

  /// Prints `note: …` on stderr unless `--quiet`.
  var notes: NoteSink? {
    if quiet { return nil }
    return { message in printError("note: \(message)") }
  }

  func note(_ message: String) { notes?(message) }

  /// The model loaded and uploaded to the chosen backend, with the truncation policy,
  /// notes and progress of these options.
  func session() throws -> AnalysisSession {
    try AnalysisSession.load(
      directory: directory, backend: backend, device: device, truncate: !noTruncate, notes: notes, showProgress: !quiet)
  }

  /// The same backend and policies for a second model (`--model-b`).
  func session(_ other: String, like first: AnalysisSession) throws -> AnalysisSession {
    try first.loading(URL(fileURLWithPath: other, isDirectory: true))
  }
}

/// The corpus, output folder and batch size shared by the analysis commands.
struct CorpusOptions: ParsableArguments {
  @Option(help: "Corpus: one text per line (TAB separates a pair); - for stdin.") var input: String
  @Option(help: "Output folder.") var out: String
  @Option(help: "Sequences per forward pass.") var batchSize = 32

  func validate() throws {
    guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
  }

  var folder: URL { URL(fileURLWithPath: out, isDirectory: true) }
  var source: CorpusSource { CorpusSource(path: input, batchSize: batchSize) }

  /// One pass of the map statistics over the corpus (what `patterns` and `special` share);
  /// the result `make` builds from them is written to `--out`.
  func writeMapStatistics<R: AnalysisResult>(
    _ options: ModelOptions, label: String, _ make: (MapStatistics, RunInfo) -> R
  ) throws -> R {
    let session = try options.session()
    let (statistics, count) = try session.run(MapStatisticsAnalysis(label: label), on: source)
    let result = make(statistics, session.runInfo(count, options: source.options))
    try write(result, to: folder, options: options)
    return result
  }
}

extension BackendKind: ExpressibleByArgument {}
extension Pooling: ExpressibleByArgument {}
extension AblationMode: ExpressibleByArgument {}
extension AblationTask: ExpressibleByArgument {}

/// Writes `result` into `folder` and notes the files written.
func write(_ result: some AnalysisResult, to folder: URL, options: ModelOptions) throws {
  let files = try result.write(to: folder)
  options.note("wrote \(files.map(\.path).joined(separator: ", "))")
}

/// Parses "1,3,5" or "2-4" (1-based) into 0-based indices.
func parseIndexList(_ text: String, name: String) throws -> [Int] {
  var out: [Int] = []
  for part in text.split(separator: ",") {
    let trimmed = part.trimmingCharacters(in: .whitespaces)
    if let dash = trimmed.firstIndex(of: "-"), dash != trimmed.startIndex {
      guard let a = Int(trimmed[..<dash]), let b = Int(trimmed[trimmed.index(after: dash)...]), a >= 1, b >= a else {
        throw ValidationError("--\(name): \"\(trimmed)\" is not a range like 2-4")
      }
      out += (a...b).map { $0 - 1 }
    } else {
      guard let v = Int(trimmed), v >= 1 else { throw ValidationError("--\(name): \"\(trimmed)\" is not a number ≥ 1") }
      out.append(v - 1)
    }
  }
  guard !out.isEmpty else { throw ValidationError("--\(name) is empty") }
  return out
}
