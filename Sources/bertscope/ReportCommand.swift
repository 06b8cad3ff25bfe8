import ArgumentParser
import BertScope
import BertScopeAnalysis
import BertScopeReport
import Foundation

struct ReportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract: "Run the analyses on a corpus and write a self-contained HTML report with PNG/SVG figures.",
    discussion: """
      One pass over --input gives the pattern types (Kovaleva et al. 2019, Figure 2) and the \
      attention to [CLS], [SEP] and punctuation (Figure 6); ablation disables every head and \
      every layer in turn (Figure 8) on the first --ablation-limit texts (default 200: each \
      text takes one forward pass per head and per layer), or on --ablation-input; with \
      --model-b the two checkpoints' maps are compared per head (Figure 5). The model view \
      shows every head's map of one example (--example N: line N of --input, or \
      --example-text), framed by its pattern type; a click opens the full map.

      DIR gets the analyses' CSV/JSON (as `patterns`, `special`, `ablate` and `compare` write \
      them), example/attention.npy + tokens.json, report.json (stage timings), index.html \
      (works offline: open it from the file system), figures/<name>.svg and .png, and \
      maps/model-view/L<l>-H<h>.png. The page is drawn from those files only: \
      `--from DIR` redraws it without running the model (or from the outputs of the analysis \
      commands written into one folder). Prints the page's file:// URL on stdout.
      """)

  @OptionGroup var options: ModelOptions
  @Option(help: "Corpus: one text per line (TAB separates a pair).") var input: String?
  @Option(help: "Output folder.") var out: String
  @Option(help: "Draw the report from the CSV/JSON (and example/) in this folder instead of running the analyses.")
  var from: String?
  @Option(help: "A second checkpoint (same architecture and vocabulary) to compare with --model, head by head.")
  var modelB: String?
  @Option(help: "Line of --input (from 1) shown in the model view (default: 1, or the example already in --from).")
  var example: Int?
  @Option(help: "Text shown in the model view instead of a corpus line.") var exampleText: String?
  @Option(help: "Second text of a pair for --example-text.") var examplePair: String?
  @Option(help: "Corpus for the ablation (default: --input); labelled for --ablation-task.") var ablationInput: String?
  @Option(help: "Texts of the ablation corpus used, from its start.") var ablationLimit = 200
  @Flag(help: "Skip the ablation (it costs one forward pass per head and per layer).") var noAblation = false
  @Option(help: "uniform (the paper's) or zero.") var ablationMode: AblationMode = .uniform
  @Option(help: "similarity or classify (labelled --ablation-input); default: the change of the embeddings.")
  var ablationTask: AblationTask?
  @Option(help: "Sequences per forward pass.") var batchSize = 32
  @Option(help: "Title of the page (default: names the model).") var title: String?

  func validate() throws {
    guard input != nil || from != nil else { throw ValidationError("give --input FILE (run the analyses) or --from DIR (redraw)") }
    if input == "-" || ablationInput == "-" {
      throw ValidationError("the report reads its corpus more than once: give a file, not - (stdin)")
    }
    if from != nil {
      for (set, name) in [(input != nil, "--input"), (modelB != nil, "--model-b"), (ablationInput != nil, "--ablation-input")] where set {
        // --input stays allowed when it only names the example's corpus.
        if name == "--input" && example != nil { continue }
        throw ValidationError("\(name) runs an analysis; --from only redraws (run `bertscope report --input` into a folder, then --from it)")
      }
    }
    if noAblation && (ablationInput != nil || ablationTask != nil) {
      throw ValidationError("--no-ablation contradicts --ablation-input/--ablation-task")
    }
    if ablationTask != nil && ablationInput == nil {
      throw ValidationError("--ablation-task needs labelled texts: give --ablation-input FILE")
    }
    if let example, example < 1 { throw ValidationError("--example counts lines from 1") }
    if example != nil && exampleText != nil { throw ValidationError("give --example or --example-text, not both") }
    if examplePair != nil && exampleText == nil { throw ValidationError("--example-pair goes with --example-text") }
    if example != nil && input == nil { throw ValidationError("--example N picks line N of --input: give --input too") }
    guard ablationLimit >= 1 else { throw ValidationError("--ablation-limit must be at least 1") }
    guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
  }

  /// Stage timings, in order, for the summary and report.json.
  final class Stages {
    var list: [(name: String, seconds: Double)] = []
    func time<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
      let start = DispatchTime.now().uptimeNanoseconds
      let value = try body()
      list.append((name, secondsSince(start)))
      return value
    }
  }

  func run() throws {
    let folder = URL(fileURLWithPath: out, isDirectory: true).standardizedFileURL
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let stages = Stages()
    var previous: [String: Any] = [:]
    if let from {
      let source = URL(fileURLWithPath: from, isDirectory: true).standardizedFileURL
      try copyAnalysisFiles(from: source, to: folder)
      if let data = try? FileBytes.read(folder.appendingPathComponent("report.json"), limit: AnalysisResults.maxFileBytes),
        let j = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
      {
        previous = j
        // Keep the timings of the run that made the numbers; the page's own time is new.
        for s in j["stages"] as? [[String: Any]] ?? [] {
          if let name = s["name"] as? String, name != "figures and page", let t = (s["seconds"] as? NSNumber)?.doubleValue {
            stages.list.append((name, t))
          }
        }
      }
    }

    var loaded: (model: BertModel, encoder: Encoder)?
    func model() throws -> (model: BertModel, encoder: Encoder) {
      if let loaded { return loaded }
      let m = try stages.time("load model") { () throws -> (BertModel, Encoder) in
        let model = try options.loadModel()
        return (model, try options.makeEncoder(model))
      }
      loaded = m
      return m
    }

    var examples: Int?
    if from == nil, let input {
      let (bert, encoder) = try model()
      examples = try runPatternsAndSpecial(input: input, model: bert, encoder: encoder, folder: folder, stages: stages)
      if !noAblation {
        try runAblation(input: ablationInput ?? input, model: bert, encoder: encoder, folder: folder, stages: stages)
      }
      if let modelB { try runComparison(input: input, modelB: modelB, model: bert, encoder: encoder, folder: folder, stages: stages) }
    }
    let hasExample = FileManager.default.fileExists(atPath: folder.appendingPathComponent("example/attention.npy").path)
    if exampleText != nil || example != nil || (!hasExample && input != nil) {
      let (bert, encoder) = try model()
      try stages.time("example") { try writeExample(model: bert, encoder: encoder, folder: folder) }
    }

    var record = previous
    record["stages"] = stages.list.map { ["name": $0.name, "seconds": jsonNumber($0.seconds)] }
    if from == nil, let input {
      record["input"] = URL(fileURLWithPath: input).path
      if let examples { record["examples"] = examples }
      if !noAblation {
        record["ablationInput"] = URL(fileURLWithPath: ablationInput ?? input).path
        record["ablationLimit"] = ablationLimit
      }
      record["command"] = (["bertscope"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
      let formatter = ISO8601DateFormatter()
      formatter.formatOptions = [.withFullDate]
      record["created"] = formatter.string(from: Date())
    }
    try AtomicFile.write(try jsonText(record, pretty: true) + "\n", to: folder.appendingPathComponent("report.json"))

    let started = DispatchTime.now().uptimeNanoseconds
    let results = try AnalysisResults.load(from: folder)
    let index = try Report.write(try AnalysisReport.content(results, title: title), to: folder)
    let pageSeconds = secondsSince(started)
    // Recorded for the next redraw; this page shows the stages before it.
    record["stages"] = (stages.list + [("figures and page", pageSeconds)]).map { ["name": $0.0, "seconds": jsonNumber($0.1)] }
    try AtomicFile.write(try jsonText(record, pretty: true) + "\n", to: folder.appendingPathComponent("report.json"))
    let size = (try? FileManager.default.attributesOfItem(atPath: index.path)[.size] as? Int) ?? 0
    options.note(String(format: "figures and page in %.1f s; index.html is %.0f kB", pageSeconds, Double(size) / 1000))
    options.note("open \(index.absoluteString)")
    print(index.absoluteString)
  }

  /// Copies the analysis outputs present in `source` into `folder` (nothing when they are the
  /// same folder), replacing older ones, so that DIR holds every number its page shows.
  func copyAnalysisFiles(from source: URL, to folder: URL) throws {
    let fm = FileManager.default
    guard source.path != folder.path else { return }
    guard fm.fileExists(atPath: source.path) else { throw BertScopeError.io(path: source.path, problem: "--from: no such folder") }
    var copied = 0
    for name in AnalysisResults.fileNames where fm.fileExists(atPath: source.appendingPathComponent(name).path) {
      let limit = name.hasSuffix(".npy") ? NPY.maxFileBytes : AnalysisResults.maxFileBytes
      let data = try FileBytes.read(source.appendingPathComponent(name), limit: limit)
      try AtomicFile.write(data, to: folder.appendingPathComponent(name))
      copied += 1
    }
    options.note("copied \(copied) analysis files from \(source.path)")
  }

  var corpusJSON: [String: Any] { ["input": input ?? "", "batchSize": batchSize] }

  /// One pass: every map's features feed both the pattern counts and the special-token means.
  func runPatternsAndSpecial(input: String, model: BertModel, encoder: Encoder, folder: URL, stages: Stages) throws -> Int {
    let start = DispatchTime.now().uptimeNanoseconds
    let reader = try CorpusReader(path: input)
    let c = model.config
    let classifier = PatternClassifier()
    var counts = PatternCounts(layers: c.numLayers, heads: c.numHeads)
    var features = HeadAccumulator(layers: c.numLayers, heads: c.numHeads, width: MapFeatures.count)
    let examples = try forEachBatch(
      reader, size: batchSize, progress: Progress("patterns + special", enabled: !options.quiet)
    ) { lines in
      let encodings = try encodeLines(lines, options: options, tokenizer: model.tokenizer, path: reader.path)
      for block in try FeatureBlock.compute(encodings, encoder: encoder) {
        counts.add(block, classifier: classifier)
        features.add(block)
      }
      return encodings.reduce(0) { $0 + $1.count }
    }
    let seconds = secondsSince(start)
    stages.list.append(("patterns + special (\(examples) texts, one pass)", seconds))
    let patterns = PatternReport(counts: counts, classifier: classifier)
    try writeAnalysis(
      folder: folder, name: "patterns", tables: [("patterns.csv", patterns.csv), ("patterns_by_layer.csv", patterns.layerCSV)],
      json: patterns.json, model: model, encoder: encoder, examples: examples, options: corpusJSON, seconds: seconds,
      note: options.note)
    let special = SpecialReport(features: features)
    try writeAnalysis(
      folder: folder, name: "special", tables: [("special.csv", special.csv), ("cls_row.csv", special.clsRowCSV)],
      json: special.json, model: model, encoder: encoder, examples: examples, options: corpusJSON, seconds: seconds,
      note: options.note)
    return examples
  }

  /// Every head alone and every layer alone disabled, on the first `ablationLimit` texts.
  func runAblation(input: String, model: BertModel, encoder: Encoder, folder: URL, stages: Stages) throws {
    let start = DispatchTime.now().uptimeNanoseconds
    let task = ablationTask ?? .embeddingChange
    let run = try AblationRun(encoder: encoder, task: task, mode: ablationMode)
    let reader = try CorpusReader(path: input)
    let path = reader.path
    options.note("ablation: \(run.targets.count) targets + the intact model on each batch of the first \(ablationLimit) texts of \(path)")
    let examples = try forEachBatch(
      reader, size: batchSize, limit: ablationLimit, progress: Progress("ablate", total: nil, enabled: !options.quiet)
    ) { lines in
      let items = try ablationItems(lines, task: task, model: model, options: options, path: path)
      try run.add(items)
      return items.reduce(0) { $0 + $1.first.count + ($1.second?.count ?? 0) }
    }
    let seconds = secondsSince(start)
    stages.list.append(("ablation (\(examples) texts × \(run.targets.count + 1) passes)", seconds))
    let report = run.report
    var opts: [String: Any] = ["input": input, "batchSize": batchSize, "limit": ablationLimit]
    opts["mode"] = ablationMode.rawValue
    opts["task"] = task.rawValue
    opts["pooling"] = Pooling.mean.rawValue
    try writeAnalysis(
      folder: folder, name: "ablation", tables: [("ablation.csv", report.csv)], json: report.json, model: model, encoder: encoder,
      examples: examples, options: opts, seconds: seconds, note: options.note)
  }

  /// Per head, the cosine of the two checkpoints' maps (as `bertscope compare`).
  func runComparison(input: String, modelB path: String, model: BertModel, encoder: Encoder, folder: URL, stages: Stages) throws {
    let start = DispatchTime.now().uptimeNanoseconds
    let modelB = try BertModel.load(from: URL(fileURLWithPath: path, isDirectory: true))
    try MapComparison.checkComparable(model, modelB)
    let encoderB = try options.makeEncoder(modelB)
    let reader = try CorpusReader(path: input)
    var comparison = MapComparison(layers: model.config.numLayers, heads: model.config.numHeads)
    let examples = try forEachBatch(reader, size: batchSize, progress: Progress("compare", enabled: !options.quiet)) { lines in
      let encodings = try encodeLines(lines, options: options, tokenizer: model.tokenizer, path: reader.path)
      // Both models' maps are held at once: half the budget each.
      for run in Analysis.mapBatches(encodings.map(\.count), mapsPerSequence: 2 * model.config.numLayers * model.config.numHeads) {
        let part = Array(encodings[run])
        try comparison.add(
          try encoder.encode(part, options: EncodeOptions(maps: .all)), try encoderB.encode(part, options: EncodeOptions(maps: .all)))
      }
      return encodings.reduce(0) { $0 + $1.count }
    }
    let seconds = secondsSince(start)
    stages.list.append(("compare (\(examples) texts, two models)", seconds))
    var opts = corpusJSON
    opts["modelB"] = modelB.directory.path
    try writeAnalysis(
      folder: folder, name: "compare", tables: [("compare.csv", comparison.csv)], json: comparison.json, model: model,
      encoder: encoder, examples: examples, options: opts, seconds: seconds, note: options.note)
  }

  /// The model-view example: all maps of one text, as `bertscope attention` writes them.
  func writeExample(model: BertModel, encoder: Encoder, folder: URL) throws {
    let text: String, pair: String?, source: String
    if let exampleText {
      (text, pair, source) = (exampleText, examplePair, "--example-text")
    } else {
      guard let input else { throw BertScopeError.invalidInput("--example needs --input") }
      let n = example ?? 1
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
    let encoding = try options.encode(model.tokenizer, text, pair: pair, where: source)
    let output = try encoder.encode([encoding], options: EncodeOptions(maps: .all))
    let maps = output.maps[0]
    let l = encoding.count
    let dir = folder.appendingPathComponent("example", isDirectory: true)
    try NPY.write(maps.values(), shape: [maps.layers.count, maps.heads.count, l, l], to: dir.appendingPathComponent("attention.npy"))
    var info = encodingJSON(encoding)
    info["layers"] = maps.layers.map { $0 + 1 }
    info["heads"] = maps.heads.map { $0 + 1 }
    info["text"] = text
    if let pair { info["pair"] = pair }
    info["source"] = source
    info["model"] = model.directory.path
    info["backend"] = encoder.backendDescription
    try AtomicFile.write(try jsonText(info, pretty: true) + "\n", to: dir.appendingPathComponent("tokens.json"))
    options.note("example (\(source), \(l) tokens) -> \(dir.path)/attention.npy")
  }
}

