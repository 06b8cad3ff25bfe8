import ArgumentParser
import BertScope
import Foundation

struct TuneCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tune",
    abstract: "Time kernel parameters on an OpenCL device at a model's shapes and store the fastest.",
    discussion: """
      Candidates (GEMM tiles and work-group shapes, the tiled or the vector GEMM kernel, flash \
      attention and P·V tiles, reduction group sizes, attention rows) are \
      each checked against the CPU backend, then timed (a warm-up, then the median of 5 runs); \
      one that fails to build or to verify is skipped and reported. The defaults are timed \
      first, so the result is never slower than them. The entry (device name + driver version + \
      kernel-source hash) goes into --out, by default ${XDG_CACHE_HOME:-~/.cache}/bertscope/tuning.json, \
      which the OpenCL backend reads (BERTSCOPE_TUNING=off ignores it; BERTSCOPE_TUNING_FILE=FILE \
      reads another file).
      """)

  @Option(
    help:
      "Hugging Face BERT model folder whose shapes are tuned (default: $BERTSCOPE_MODEL, else the installed default).")
  var model: String?
  @Option(help: "OpenCL device index (see `bertscope devices`; default: the first GPU, else the first device).")
  var device: Int?
  @Option(help: "Seconds to spend trying candidates (the defaults and the final comparison run anyway).")
  var budget: Double = 180
  @Option(help: "Sequences per batch of the tuned shape.") var batch = 32
  @Option(help: "Tokens per sequence of the tuned shape.") var length = 128
  @Option(help: "Tuning file to add the entry to (default: ${XDG_CACHE_HOME:-~/.cache}/bertscope/tuning.json).")
  var out: String?
  @Flag(name: .shortAndLong, help: "Print only the result, not each candidate.") var quiet = false

  func validate() throws {
    guard budget >= 0, budget.isFinite else { throw ValidationError("--budget must be a number of seconds ≥ 0") }
    guard batch >= 1, length >= 1 else { throw ValidationError("--batch and --length must be at least 1") }
  }

  /// Unbuffered, so that each line shows as it comes when stdout is a pipe (gpu-check's tee).
  func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
  }

  func run() throws {
    let directory = ModelLocator.resolve(model)
    let config = try BertConfig(contentsOf: directory.appendingPathComponent("config.json"))
    guard length <= config.maxPositions else {
      throw BertScopeError.invalidInput(
        "--length \(length) is longer than the model's \(config.maxPositions) positions")
    }
    let devices = try OpenCLDevices.all()
    let index = try OpenCLDevices.resolve(device, in: devices)
    let shape = OpenCLTuner.Shape(config: config, batch: batch, length: length, model: directory.path)
    say(
      "tuning device \(index): \(devices[index].name) (driver \(devices[index].driverVersion)) for "
        + "hidden \(shape.hidden), intermediate \(shape.intermediate), \(shape.heads) heads, "
        + "\(batch) × \(length) tokens; budget \(budget) s")
    let report = try OpenCLTuner.tune(OpenCLTuner.Options(device: index, shape: shape, budgetSeconds: budget)) {
      line in
      if !quiet {
        say("  " + line)
      }
    }
    let skipped = report.candidates.filter { $0.ms == nil }.count
    say(
      "\(report.candidates.count) candidates tried (\(skipped) skipped)"
        + (report.untried > 0 ? ", \(report.untried) not tried (budget spent)" : ""))
    say("chosen (\(report.variant) kernels): \(report.chosen.isEmpty ? "the defaults" : report.chosen)")
    say(
      String(
        format: "tuned ops: %.3f ms with the defaults, %.3f ms tuned: %.2f× speed-up", report.defaultMs,
        report.bestMs, report.speedup))
    let url = out.map { URL(fileURLWithPath: $0) } ?? OpenCLTuning.defaultURL
    for note in try report.store(to: url) { printError("note: \(note)") }
    say("stored in \(url.path)")
  }
}
