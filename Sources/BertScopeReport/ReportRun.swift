import BertScope
import BertScopeAnalysis
import Foundation

/// What `bertscope report` runs before it draws the page: the same corpus runs and result
/// files as the `patterns`, `special`, `ablate`, `compare` and `attention` commands.
public struct ReportPlan: Sendable {
  /// The ablation subset and settings.
  public struct Ablation: Sendable {
    /// The corpus (labelled for `similarity` and `classify`).
    public var input: String
    /// Texts used, from its start (each costs one forward pass per head and per layer).
    public var limit: Int
    /// How heads are disabled.
    public var mode: AblationMode
    /// What the effect is measured with.
    public var task: AblationTask

    /// Every head alone and every layer alone disabled on the first `limit` texts of `input`.
    public init(input: String, limit: Int = 200, mode: AblationMode = .uniform, task: AblationTask = .embeddingChange) {
      self.input = input
      self.limit = limit
      self.mode = mode
      self.task = task
    }
  }

  /// The text of the model view.
  public enum Example: Sendable {
    /// Line N (from 1) of the corpus.
    case line(Int)
    /// A text given directly (`--example-text`), with an optional pair.
    case text(String, pair: String?)
  }

  /// The corpus of the pattern, special-token and comparison runs (not run with `from`) and
  /// of `Example.line`.
  public var input: String?
  /// Corpus lines per batch of every corpus run.
  public var batchSize: Int
  /// nil: no ablation.
  public var ablation: Ablation?
  /// A second checkpoint to compare with, head by head.
  public var modelB: URL?
  /// A CoNLL-U corpus for the linguistic sections (attention to word classes, syntactic heads).
  public var conllu: String?
  /// A JSON Lines corpus of texts with annotated span pairs for the relation heads (as
  /// `bertscope relations --input` takes it).
  public var relations: String?
  /// Write the attention rollout of the model-view example (`rollout.npy`, `tokens.json`, as
  /// `bertscope rollout` does), computed from its maps: no model run of its own.
  public var rollout = false
  /// nil: line 1 of `input`, unless the folder already holds an example.
  public var example: Example?
  /// The page title; nil: one naming the model.
  public var title: String?
  /// Draw from the analysis files in this folder instead of running the model.
  public var from: URL?
  /// The command line, recorded in report.json.
  public var command: String?
  /// The shard of the corpus runs, checkpoints and resumption (a sharded report's folder is
  /// merged by `bertscope merge`, which draws the whole corpus's page).
  public var control: RunControl = .plain

  /// A plan from its parts; with `input` alone it runs the patterns and special-token pass
  /// and writes the example.
  public init(
    input: String? = nil, batchSize: Int = 32, ablation: Ablation? = nil, modelB: URL? = nil, example: Example? = nil,
    title: String? = nil, from: URL? = nil, command: String? = nil
  ) {
    self.input = input
    self.batchSize = batchSize
    self.ablation = ablation
    self.modelB = modelB
    self.example = example
    self.title = title
    self.from = from
    self.command = command
  }
}

/// Runs a `ReportPlan` into a folder and draws `index.html` from the files it wrote, read back
/// through `AnalysisResults`; report.json records what ran and how long each stage took.
public struct ReportRun {
  /// What to run and draw.
  public let plan: ReportPlan
  /// Where the files and `index.html` go (standardized).
  public let folder: URL
  /// Makes the session when the model is first needed (a redraw never loads it).
  let makeSession: () throws -> AnalysisSession
  let notes: NoteSink?
  private var session: AnalysisSession?
  private var record = ReportRecord()
  private var stages: [ReportRecord.Stage] = []
  private var recorder: RunRecorder?

  /// A run of `plan` into `folder`; `session` makes the analysis session when the model is
  /// first needed; `notes` receives what is copied, run and written.
  public init(plan: ReportPlan, folder: URL, notes: NoteSink? = nil, session: @escaping () throws -> AnalysisSession) {
    self.plan = plan
    self.folder = folder.standardizedFileURL
    self.notes = notes
    makeSession = session
  }

  /// The report's `index.html`, its size in bytes and the seconds the figures and page took.
  public struct Page: Sendable {
    /// `index.html`.
    public var index: URL
    /// Its size in bytes.
    public var bytes: Int
    /// Seconds to load the results and write the figures and the page.
    public var seconds: Double
  }

  /// Runs the plan and writes the page: copies the files of `from`, or runs the corpus
  /// analyses of `input`; writes the example when needed; then draws the page from the
  /// folder's files.
  public mutating func run() throws -> Page {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    if let from = plan.from { try copyAnalysisFiles(from: from.standardizedFileURL) }
    if plan.from == nil, let input = plan.input {
      let s = try loadedSession()
      recorder = try plan.control.recorder(
        url: RunState.url(for: folder, isFolder: true), command: "report", session: s)
      let corpus = CorpusSource(path: input, batchSize: plan.batchSize, shard: plan.control.shard)
      let examples = try runPatternsAndSpecial(corpus, session: s)
      if let ablation = plan.ablation { try runAblation(ablation, session: s) }
      if let modelB = plan.modelB { try runComparison(corpus, modelB: modelB, session: s) }
      if let conllu = plan.conllu { try runLinguistic(conllu, session: s) }
      if let relations = plan.relations { try runRelations(relations, session: s) }
      try recorder?.finish()
      record.input = URL(fileURLWithPath: input).path
      record.examples = examples
      record.ablationInput = plan.ablation.map { URL(fileURLWithPath: $0.input).path }
      record.ablationLimit = plan.ablation?.limit
      record.command = plan.command
      let formatter = ISO8601DateFormatter()
      formatter.formatOptions = [.withFullDate]
      record.created = formatter.string(from: Date())
    }
    let exampleFile = folder.appendingPathComponent("example/attention.npy")
    if plan.example != nil || (!FileManager.default.fileExists(atPath: exampleFile.path) && plan.input != nil) {
      let s = try loadedSession()
      let start = DispatchTime.now().uptimeNanoseconds
      try writeExample(session: s)
      stages.append(.init(name: "example", seconds: secondsSince(start)))
    }
    if plan.rollout {
      let start = DispatchTime.now().uptimeNanoseconds
      try writeRollout()
      stages.append(.init(name: "rollout", seconds: secondsSince(start)))
    }
    record.stages = stages
    try AnalysisJSON.write(record, to: folder.appendingPathComponent(ReportRecord.fileName))

    let started = DispatchTime.now().uptimeNanoseconds
    let results = try AnalysisResults.load(from: folder)
    let index = try Report.write(try AnalysisReport.content(results, title: plan.title), to: folder)
    let seconds = secondsSince(started)
    // Recorded in report.json only: this page shows the stages before it, and a redraw
    // replaces it with its own.
    record.stages = stages + [.init(name: Self.pageStage, seconds: seconds)]
    try AnalysisJSON.write(record, to: folder.appendingPathComponent(ReportRecord.fileName))
    let bytes = (try? FileManager.default.attributesOfItem(atPath: index.path)[.size] as? Int) ?? 0
    return Page(index: index, bytes: bytes, seconds: seconds)
  }

  static let pageStage = "figures and page"

  private mutating func loadedSession() throws -> AnalysisSession {
    if let session { return session }
    let start = DispatchTime.now().uptimeNanoseconds
    let s = try makeSession()
    stages.append(.init(name: "load model", seconds: secondsSince(start)))
    session = s
    return s
  }

  /// Copies the analysis outputs present in `source` into the folder (nothing when they are
  /// the same folder), replacing older ones, so that the folder holds every number its page
  /// shows; keeps the stage timings of the run that made the numbers.
  private mutating func copyAnalysisFiles(from source: URL) throws {
    let fm = FileManager.default
    if source.path != folder.path {
      guard fm.fileExists(atPath: source.path) else {
        throw BertScopeError.io(path: source.path, problem: "--from: no such folder")
      }
      var copied = 0
      for name in AnalysisResults.fileNames where fm.fileExists(atPath: source.appendingPathComponent(name).path) {
        let limit = name.hasSuffix(".npy") ? NPY.maxFileBytes : AnalysisJSON.maxFileBytes
        let data = try FileBytes.read(source.appendingPathComponent(name), limit: limit)
        try AtomicFile.write(data, to: folder.appendingPathComponent(name))
        copied += 1
      }
      notes?("copied \(copied) analysis files from \(source.path)")
    }
    // An unreadable report.json only loses the old timings: the numbers are in the other files.
    if let previous = try? AnalysisJSON.read(
      ReportRecord.self, from: folder.appendingPathComponent(ReportRecord.fileName))
    {
      record = previous
      stages = previous.stages.filter { $0.name != Self.pageStage }
    }
  }

  /// One pass: every map's features feed both the pattern counts and the special-token means,
  /// and the pairwise head distances (computed next to the maps) the head clustering.
  private mutating func runPatternsAndSpecial(_ corpus: CorpusSource, session: AnalysisSession) throws -> Int {
    let (state, count) = try session.run(
      HeadClusteringAnalysis(label: "patterns + special + clusters"), on: corpus, part: MergedRun.clustersPart,
      options: corpus.options, recorder: recorder)
    stages.append(
      .init(name: "patterns + special + clusters (\(count.examples) texts, one pass)", seconds: count.seconds))
    let info = session.runInfo(count, options: corpus.options)
    for result in [
      PatternsResult(state.statistics, info: info), SpecialResult(state.statistics, info: info),
      try ClustersResult(state, info: info),
    ] as [any AnalysisResult] {
      note(written: try result.write(to: folder))
    }
    return count.examples
  }

  /// Every head alone and every layer alone disabled, on the first `limit` texts.
  private mutating func runAblation(_ plan: ReportPlan.Ablation, session: AnalysisSession) throws {
    let analysis = AblationAnalysis(task: plan.task, mode: plan.mode)
    let targets = session.config.numLayers * (session.config.numHeads + 1)
    let corpus = CorpusSource(
      path: plan.input, batchSize: self.plan.batchSize, limit: plan.limit, shard: self.plan.control.shard)
    notes?(
      "ablation: \(targets) targets + the intact model on each batch of the first \(plan.limit) texts of \(plan.input)")
    var options = corpus.options
    (options.mode, options.task, options.pooling) = (plan.mode, plan.task, .mean)
    let (state, count) = try session.run(
      analysis, on: corpus, part: MergedRun.ablationPart, options: options, recorder: recorder)
    stages.append(.init(name: "ablation (\(count.examples) texts × \(targets + 1) passes)", seconds: count.seconds))
    note(written: try AblationResult(state, info: session.runInfo(count, options: options)).write(to: folder))
  }

  /// Per head, the cosine of the two checkpoints' maps (as `bertscope compare`).
  private mutating func runComparison(_ corpus: CorpusSource, modelB: URL, session: AnalysisSession) throws {
    let other = try session.loading(modelB)
    var options = corpus.options
    options.modelB = other.model.directory.path
    let (comparison, count) = try session.run(
      ComparisonAnalysis(other: other), on: corpus, part: MergedRun.comparisonPart, options: options,
      modelB: try recorder.map { _ in try ModelIdentity(other.model) }, recorder: recorder)
    stages.append(.init(name: "compare (\(count.examples) texts, two models)", seconds: count.seconds))
    note(written: try CompareResult(comparison, info: session.runInfo(count, options: options)).write(to: folder))
  }

  /// Attention to word classes and syntactic heads over a CoNLL-U corpus (as `bertscope linguistic`).
  private mutating func runLinguistic(_ path: String, session: AnalysisSession) throws {
    let corpus = CorpusSource(path: path, batchSize: plan.batchSize, shard: plan.control.shard)
    let (state, count) = try session.run(
      LinguisticAnalysis(), on: corpus, part: MergedRun.linguisticPart, options: corpus.options, recorder: recorder)
    stages.append(.init(name: "linguistic (\(count.examples) sentences)", seconds: count.seconds))
    note(written: try LinguisticResult(state, info: session.runInfo(count, options: corpus.options)).write(to: folder))
  }

  /// Relation heads over a JSON Lines corpus of annotated span pairs (as `bertscope relations`).
  private mutating func runRelations(_ path: String, session: AnalysisSession) throws {
    let corpus = CorpusSource(path: path, batchSize: plan.batchSize, shard: plan.control.shard)
    let (state, count) = try session.run(
      RelationsAnalysis(), on: corpus, part: MergedRun.relationsPart, options: corpus.options, recorder: recorder)
    stages.append(.init(name: "relations (\(count.examples) texts, \(state.pairs) span pairs)", seconds: count.seconds))
    if state.skippedPairs > 0 { notes?("relations: \(state.skippedPairs) pairs skipped: a span covered no token") }
    note(written: try RelationsResult(state, info: session.runInfo(count, options: corpus.options)).write(to: folder))
  }

  /// The rollout of the model-view example from its maps in `example/` (the same numbers as
  /// `bertscope rollout --text` on that text), as `rollout.npy` and `tokens.json`.
  private func writeRollout() throws {
    let exampleFolder = folder.appendingPathComponent("example")
    guard FileManager.default.fileExists(atPath: exampleFolder.appendingPathComponent("attention.npy").path) else {
      throw BertScopeError.invalidInput(
        "--rollout needs the model-view example (\(exampleFolder.path)/attention.npy): give --input or --example-text")
    }
    let e = try AnalysisResults.readExample(folder)
    let l = e.tokens.count
    let layerMaps = e.maps.map { heads in
      var mean = [Double](repeating: 0, count: l * l)
      for m in heads { for k in 0..<(l * l) { mean[k] += Double(m.values[k]) } }
      return mean.map { $0 / Double(heads.count) }
    }
    let rollout = Rollout.compute(layerMaps: layerMaps, length: l)
    try NPY.write(rollout, shape: [e.maps.count, l, l], to: folder.appendingPathComponent("rollout.npy"))
    let tokens = try FileBytes.read(
      exampleFolder.appendingPathComponent("tokens.json"), limit: AnalysisJSON.maxFileBytes)
    try AtomicFile.write(tokens, to: folder.appendingPathComponent("tokens.json"))
    notes?("rollout of the example (\(l) tokens) -> \(folder.path)/rollout.npy, tokens.json")
  }

  private func note(written files: [URL]) {
    notes?("wrote \(files.map(\.path).joined(separator: ", "))")
  }

  /// The model-view example: all maps of one text, as `bertscope attention` writes them.
  private func writeExample(session: AnalysisSession) throws {
    let text: String, pair: String?, source: String
    switch plan.example {
    case .text(let t, let p):
      (text, pair, source) = (t, p, "--example-text")
    case .line, nil:
      guard let input = plan.input else { throw BertScopeError.invalidInput("--example needs --input") }
      var n = 1
      if case .line(let k) = plan.example { n = k }
      let reader = try CorpusReader(path: input)
      var found: CorpusLine?
      while let line = try reader.nextLine() {
        if line.number == n {
          found = line
          break
        }
      }
      guard let line = found, !line.text.trimmingCharacters(in: .whitespaces).isEmpty else {
        throw BertScopeError.invalidInput("\(reader.path):\(n): --example \(n): no text on that line")
      }
      (text, pair, source) = (line.text, line.pair, "line \(n) of \((reader.path as NSString).lastPathComponent)")
    }
    let encoding = try session.encode(text, pair: pair, where: source)
    let output = try session.encoder.encode([encoding], options: EncodeOptions(maps: .all))
    let tokens = TokensFile(
      encoding, maps: output.maps[0], text: text, pair: pair, source: source, model: session.model.directory.path,
      backend: session.encoder.backendDescription)
    let dir = folder.appendingPathComponent("example", isDirectory: true)
    try AttentionExport.write(output, encoding: encoding, tokens: tokens, hidden: false, to: dir)
    notes?("example (\(source), \(encoding.count) tokens) -> \(dir.path)/attention.npy")
  }
}
