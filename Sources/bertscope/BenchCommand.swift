import ArgumentParser
import BertScope
import BertScopeAnalysis
import Foundation

struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench",
    abstract:
      "Time the encoder: median ms per batch, sequences/s, tokens/s, GFLOPS, per backend, batch, length and maps mode.",
    discussion: """
      Inputs are real text: consecutive sentences of the corpus (default samples/wordnet-sentences.txt) \
      joined until each sequence holds exactly LENGTH tokens. Each configuration runs --warmup passes, \
      then --repeats timed passes; the table shows the median (and 10th/90th percentiles in the JSON). \
      "maps all" pulls every layer's and head's attention probabilities back to the host; \
      its rows also give the readback alone (readback ms: the median time the maps' copies \
      to the host took, and its GB/s; readback_ms, readback_bytes and readback_gb_per_s in \
      --json). On a GPU (pinned readback) the copies run while later layers compute and are \
      timed on the device; readback_exposed_ms is the part left after the compute finished. \
      Elsewhere both are the wait after the compute. Between rows the idle memory pool is \
      emptied, so each row's peak MiB is its own.
      """)

  @Option(help: "Hugging Face BERT model folder (default: $BERTSCOPE_MODEL, else the installed default).") var model:
    String?
  @Option(help: "Comma-separated backends: cpu, opencl, auto.") var backend = "cpu"
  @Option(help: "OpenCL device index (see `bertscope devices`).") var device: Int?
  @Option(
    help:
      "Linear layers in fp32 (default) or tf32 (NVIDIA tensor cores; OpenCL on an NVIDIA GPU of compute capability 8.0+ only)."
  ) var precision: Precision = .fp32
  @Option(help: "Comma-separated batch sizes.") var batch = "1,8,32"
  @Option(help: "Comma-separated sequence lengths in tokens.") var length = "16,128,512"
  @Option(help: "none, all, or none,all.") var maps = "none,all"
  @Option(help: "Timed passes per configuration.") var repeats = 10
  @Option(help: "Untimed passes first.") var warmup = 2
  @Option(help: "Corpus the sequences are cut from.") var input = "samples/wordnet-sentences.txt"
  @Option(help: "Also write the results as JSON here.") var json: String?
  @Flag(name: .shortAndLong, help: "No progress on stderr.") var quiet = false

  func validate() throws {
    guard repeats >= 1, warmup >= 0 else { throw ValidationError("--repeats must be ≥ 1 and --warmup ≥ 0") }
  }

  func run() throws {
    let loadStart = Date()
    let bertModel = try BertModel.load(from: ModelLocator.resolve(model))
    let loadSeconds = Date().timeIntervalSince(loadStart)
    let backends = try backend.split(separator: ",").map { name -> BackendKind in
      guard let kind = BackendKind(rawValue: String(name)) else { throw ValidationError("unknown backend \(name)") }
      return kind
    }
    let batches = try parseList(batch, "batch")
    let lengths = try parseList(length, "length")
    let mapModes = try maps.split(separator: ",").map { m -> Bool in
      switch m {
      case "none": return false
      case "all": return true
      default: throw ValidationError("--maps takes none, all or none,all")
      }
    }
    guard let longest = lengths.max(), longest <= bertModel.config.maxPositions, lengths.min()! >= 2 else {
      throw ValidationError("lengths must be between 2 and \(bertModel.config.maxPositions)")
    }
    let sentences = try Self.readSentences(input)
    var rows: [BenchResults.Row] = []
    var table = [
      pad("backend", 28) + pad("batch", 6, right: true) + pad("length", 7, right: true) + pad("maps", 6, right: true)
        + pad("median ms", 11, right: true) + pad("seq/s", 10, right: true) + pad("tokens/s", 11, right: true)
        + pad("GFLOPS", 9, right: true) + pad("peak MiB", 10, right: true) + pad("readback ms", 13, right: true)
        + pad("GB/s", 9, right: true)
    ]
    var uploads: [String: Double] = [:]
    for kind in backends {
      let encoder = try Encoder(
        model: bertModel, backend: kind, device: device, precision: precision,
        note: { if !quiet { printError("note: \($0)") } })
      uploads[encoder.backendDescription] = encoder.uploadSeconds
      for l in lengths {
        let texts = Self.makeTexts(sentences, tokenizer: bertModel.tokenizer, length: l, count: batches.max()!)
        for b in batches {
          let inputs = Array(texts.prefix(b))
          let flops = forwardFLOPs(bertModel.config, lengths: inputs.map(\.count))
          for withMaps in mapModes {
            // Each row's peak is its own, not the idle blocks an earlier row left for reuse.
            FloatStorage.releaseIdleMemory()
            resetPeakMemory()
            let options = EncodeOptions(maps: withMaps ? .all : .none)
            for _ in 0..<warmup { _ = try encoder.encode(inputs, options: options) }
            var times: [Double] = []
            var reads: [Double] = []
            var exposed: [Double] = []
            var mapBytes = 0
            for _ in 0..<repeats {
              let start = DispatchTime.now().uptimeNanoseconds
              let out = try encoder.encode(inputs, options: options)
              times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
              precondition(out.count == b)
              reads.append(out.mapTransferSeconds ?? out.mapReadSeconds)
              exposed.append(out.mapReadSeconds)
              mapBytes = out.mapBytes
            }
            times.sort()
            reads.sort()
            exposed.sort()
            let read = withMaps ? reads[reads.count / 2] : nil
            let median = times[times.count / 2]
            let peak = peakMemoryBytes()
            let row = BenchResults.Row(
              backend: kind, device: encoder.backendDescription, precision: precision, batch: b, length: l,
              maps: withMaps ? "all" : "none",
              medianMs: median * 1000, p10Ms: times[times.count / 10] * 1000,
              p90Ms: times[min(times.count - 1, times.count * 9 / 10)] * 1000, sequencesPerS: Double(b) / median,
              tokensPerS: Double(b * l) / median, gflops: flops / median / 1e9, repeats: repeats, peakRSSBytes: peak,
              readbackMs: read.map { $0 * 1000 }, readbackExposedMs: withMaps ? exposed[exposed.count / 2] * 1000 : nil,
              readbackBytes: withMaps ? mapBytes : nil,
              readbackGBPerS: read.map { Double(mapBytes) / max($0, 1e-12) / 1e9 })
            rows.append(row)
            table.append(
              pad(String(encoder.backendDescription.prefix(27)), 28) + pad("\(b)", 6, right: true)
                + pad("\(l)", 7, right: true)
                + pad(withMaps ? "all" : "none", 6, right: true)
                + pad(String(format: "%.2f", median * 1000), 11, right: true)
                + pad(String(format: "%.1f", Double(b) / median), 10, right: true)
                + pad(String(format: "%.0f", Double(b * l) / median), 11, right: true)
                + pad(String(format: "%.1f", flops / median / 1e9), 9, right: true)
                + pad(String(format: "%.0f", Double(peak) / 1_048_576), 10, right: true)
                + pad(read.map { String(format: "%.2f", $0 * 1000) } ?? "-", 13, right: true)
                + pad(
                  read.map { Self.rate(Double(mapBytes) / max($0, 1e-12) / 1e9) } ?? "-", 9, right: true))
            if !quiet { printError(table.last!) }
          }
        }
      }
    }
    print(table.joined(separator: "\n"))
    if let json {
      let document = BenchResults(
        model: bertModel.directory.path, modelLoadSeconds: loadSeconds, uploadSeconds: uploads,
        threads: ProcessInfo.processInfo.activeProcessorCount, cpu: Self.cpuName(), results: rows)
      try AnalysisJSON.write(document, to: URL(fileURLWithPath: json))
    }
  }

  func parseList(_ text: String, _ name: String) throws -> [Int] {
    try text.split(separator: ",").map {
      guard let v = Int($0.trimmingCharacters(in: .whitespaces)), v >= 1 else {
        throw ValidationError("--\(name): \($0) is not a positive number")
      }
      return v
    }
  }

  static func readSentences(_ path: String) throws -> [String] {
    let reader = try CorpusReader(path: path)
    var out: [String] = []
    while let line = try reader.nextLine() {
      if !line.text.isEmpty { out.append(line.text) }
    }
    guard !out.isEmpty else { throw BertScopeError.invalidInput("\(path): no sentences") }
    return out
  }

  /// `count` encodings of exactly `length` tokens cut from consecutive sentences.
  static func makeTexts(_ sentences: [String], tokenizer: Tokenizer, length: Int, count: Int) -> [Encoding] {
    var out: [Encoding] = []
    var next = 0
    while out.count < count {
      var text = ""
      var encoding =
        (try? tokenizer.encode("", maxLength: length)) ?? Encoding(tokens: [], ids: [], segments: [], offsets: [])
      var guardCount = 0
      while encoding.count < length && guardCount < 10_000 {
        text += (text.isEmpty ? "" : " ") + sentences[next % sentences.count]
        next += 1
        guardCount += 1
        encoding = (try? tokenizer.encode(text, maxLength: length)) ?? encoding
      }
      out.append(encoding)
    }
    return out
  }

  static func cpuName() -> String {
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
      let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
      let colon = line.firstIndex(of: ":")
    else { return "unknown" }
    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
  }
}

/// `text` padded with spaces to `width` characters.
func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
  let fill = String(repeating: " ", count: max(0, width - text.count))
  return right ? fill + text : text + fill
}

/// Resets the kernel's peak-RSS counter (Linux: writing 5 to /proc/self/clear_refs).
func resetPeakMemory() {
  try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
}

/// Peak resident memory since the last reset (VmHWM), in bytes.
func peakMemoryBytes() -> Int {
  guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
    let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
  else { return 0 }
  let digits = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
  return digits * 1024
}

extension BenchCommand {
  /// A rate for the table: 2 decimals, none from 100 up (a zero-copy readback is "huge").
  static func rate(_ value: Double) -> String { String(format: value >= 100 ? "%.0f" : "%.2f", value) }
}

/// `bertscope bench --json`: what bench/peers and the GPU check read.
struct BenchResults: Encodable {
  struct Row: Encodable {
    var backend: BackendKind
    /// The backend in words (`Encoder.backendDescription`).
    var device: String
    /// The linear layers' arithmetic (`--precision`): fp32 or tf32.
    var precision: Precision
    var batch, length: Int
    /// `none` or `all`.
    var maps: String
    /// Milliseconds per pass: median, 10th and 90th percentile.
    var medianMs, p10Ms, p90Ms: Double
    var sequencesPerS, tokensPerS, gflops: Double
    var repeats, peakRSSBytes: Int
    /// Maps all: the median time to read the maps back after the compute (ms), their bytes,
    /// and the rate; nil without maps.
    var readbackMs: Double?
    var readbackExposedMs: Double?
    var readbackBytes: Int?
    var readbackGBPerS: Double?

    enum CodingKeys: String, CodingKey {
      case backend, device, precision, batch, length, maps, gflops, repeats
      case medianMs = "median_ms", p10Ms = "p10_ms", p90Ms = "p90_ms", sequencesPerS = "sequences_per_s"
      case tokensPerS = "tokens_per_s", peakRSSBytes = "peak_rss_bytes"
      case readbackMs = "readback_ms", readbackExposedMs = "readback_exposed_ms", readbackBytes = "readback_bytes",
        readbackGBPerS = "readback_gb_per_s"
    }
  }

  var tool = "bertscope bench"
  var model: String
  var modelLoadSeconds: Double
  /// Per backend description.
  var uploadSeconds: [String: Double]
  var threads: Int
  var cpu: String
  var results: [Row]
  var flopCount = "every GEMM and QK^T, P.V; multiply-add = 2"

  enum CodingKeys: String, CodingKey {
    case tool, model, threads, cpu, results
    case modelLoadSeconds = "model_load_seconds", uploadSeconds = "upload_seconds", flopCount = "flop_count"
  }
}
