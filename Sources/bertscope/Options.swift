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

  @Option(
    help: ArgumentHelp(
      "Linear layers in fp32 (default) or tf32.",
      discussion:
        "tf32 runs the linear layers on NVIDIA tensor cores (inputs rounded to a 10-bit mantissa, sums in fp32): --backend opencl on an NVIDIA GPU of compute capability 8.0 or later only; elsewhere it is an error. Attention and its maps stay fp32."
    ))
  var precision: Precision = .fp32

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
      directory: directory, backend: backend, device: device, truncate: !noTruncate, notes: notes, showProgress: !quiet,
      precision: precision)
  }

  /// The same backend and policies for a second model (`--model-b`).
  func session(_ other: String, like first: AnalysisSession) throws -> AnalysisSession {
    try first.loading(URL(fileURLWithPath: other, isDirectory: true))
  }
}

/// `--shard`, `--checkpoint-every` and `--resume`: shared by every corpus command.
struct ShardOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "Take shard I of N of the corpus (the lines whose index from 0 is I mod N), or auto: this task of a Slurm job array.",
      discussion:
        "auto reads SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (submit with --array=0-N-1). A sharded run writes its outputs for its lines and the mergeable state beside them; combine the shards with `bertscope merge`.",
      valueName: "I/N|auto"))
  var shard: String?

  @Option(
    help: ArgumentHelp(
      "Save the run's state every K batches (atomically) so that --resume can continue it; SIGTERM saves it too.",
      valueName: "K"))
  var checkpointEvery: Int?

  @Flag(help: "Continue from the state an interrupted run left in --out (after a crash, a time limit or SIGTERM).")
  var resume = false

  func validate() throws {
    if let k = checkpointEvery, k < 1 { throw ValidationError("--checkpoint-every must be at least 1 (batches)") }
  }

  /// The options as a `RunControl`; throws a one-line error for a malformed `--shard`.
  func control(input: String) throws -> RunControl {
    let control = RunControl(
      shard: try shard.map { try Shard(parsing: $0) }, checkpointEvery: checkpointEvery, resume: resume)
    if input == "-" && (resume || checkpointEvery != nil) {
      throw BertScopeError.invalidInput(
        "--resume and --checkpoint-every read the input again: give a file, not - (stdin)")
    }
    return control
  }
}

/// The corpus, output folder and batch size shared by the analysis commands.
struct CorpusOptions: ParsableArguments {
  @Option(help: "Corpus: one text per line (TAB separates a pair); - for stdin.") var input: String
  @Option(help: "Output folder.") var out: String
  @Option(help: "Sequences per forward pass.") var batchSize = 32
  @OptionGroup var sharding: ShardOptions

  func validate() throws {
    guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
  }

  var folder: URL { URL(fileURLWithPath: out, isDirectory: true) }

  /// `--shard`, `--checkpoint-every` and `--resume`, checked.
  func control() throws -> RunControl { try sharding.control(input: input) }

  /// The corpus of `control`'s shard.
  func source(_ control: RunControl) -> CorpusSource {
    CorpusSource(path: input, batchSize: batchSize, shard: control.shard)
  }

  /// The state file's keeper for a sharded or checkpointing run of `command`, else nil.
  func recorder(_ command: String, _ control: RunControl, session: AnalysisSession) throws -> RunRecorder? {
    try control.recorder(url: RunState.url(for: folder, isFolder: true), command: command, session: session)
  }

  /// Runs `analysis` over the corpus (sharded, checkpointed and resumed as the options say),
  /// as the part `part` of `command`; `options` adds the analysis's own settings to the run's.
  func run<A: CorpusAnalysis>(
    _ analysis: A, command: String, part: String, session: AnalysisSession, modelB: ModelIdentity? = nil,
    options adjust: (inout RunOptions) -> Void = { _ in }
  ) throws -> (state: A.State, count: RunCount, options: RunOptions, recorder: RunRecorder?)
  where A.State: StoredState {
    let control = try control()
    let source = source(control)
    var options = source.options
    adjust(&options)
    let recorder = try recorder(command, control, session: session)
    let (state, count) = try session.run(
      analysis, on: source, part: part, options: options, modelB: modelB, recorder: recorder)
    return (state, count, options, recorder)
  }

  /// One pass of the map statistics over the corpus (what `patterns` and `special` share);
  /// the result `make` builds from them is written to `--out`.
  func writeMapStatistics<R: AnalysisResult>(
    _ options: ModelOptions, label: String, _ make: (MapStatistics, RunInfo) -> R
  ) throws -> R {
    let session = try options.session()
    let run = try run(
      MapStatisticsAnalysis(label: label), command: label, part: MergedRun.statisticsPart, session: session)
    let result = make(run.state, session.runInfo(run.count, options: run.options))
    try write(result, to: folder, options: options, recorder: run.recorder)
    return result
  }
}

extension BackendKind: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}
extension Pooling: ExpressibleByArgument {}
extension AblationMode: ExpressibleByArgument {}
extension AblationTask: ExpressibleByArgument {}

/// Writes `result` into `folder` and notes the files written; a sharded or checkpointing run
/// then marks its state complete (a shard ready for `bertscope merge`).
func write(_ result: some AnalysisResult, to folder: URL, options: ModelOptions, recorder: RunRecorder? = nil) throws {
  let files = try result.write(to: folder)
  try recorder?.finish()
  options.note("wrote \(files.map(\.path).joined(separator: ", "))\(recorder.map { ", " + $0.url.path } ?? "")")
  if let recorder, recorder.state.shard != .whole {
    options.note("shard \(recorder.state.shard): combine the shards with `bertscope merge --out DIR SHARD…`")
  }
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
