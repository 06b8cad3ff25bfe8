import ArgumentParser
import BertScope
import Foundation

@main
struct BertScopeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bertscope",
    abstract: "Look inside BERT-family encoders: attention maps, corpus-scale analyses, figures and reports.",
    discussion: """
      The model is a Hugging Face BERT folder (config.json, vocab.txt, model.safetensors): \
      --model DIR, else $BERTSCOPE_MODEL, else the default model installed by scripts/setup \
      (all-MiniLM-L6-v2). Layers and heads are numbered from 1.
      """,
    subcommands: [
      TokenizeCommand.self, AttentionCommand.self, EmbedCommand.self, BenchCommand.self, DevicesCommand.self,
      SelftestCommand.self, PatternsCommand.self,
      SpecialCommand.self, AblateCommand.self, CompareCommand.self, RelationsCommand.self, RolloutCommand.self, ReportCommand.self, PlotCommand.self,
    ])

  /// Parses, runs, and turns every failure into one line on stderr and a non-zero exit.
  static func main() {
    guard CPUFeatures.supported else {
      printError("error: this build of bertscope needs an x86-64 CPU with AVX2 and FMA (Intel Haswell, AMD Zen or newer)")
      Foundation.exit(3)
    }
    Signals.install()
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch let error as BertScopeError {
      printError("error: \(error.description)")
      Foundation.exit(1)
    } catch {
      exit(withError: error)
    }
  }
}

/// Reads /proc/cpuinfo: the library is compiled for AVX2 + FMA (see Package.swift), so this
/// check runs before any of its code.
enum CPUFeatures {
  static var supported: Bool {
    #if arch(x86_64) && os(Linux)
      guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
        let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
      else { return true }
      let set = Set(flags.split(separator: " ").map(String.init))
      return set.contains("avx2") && set.contains("fma")
    #else
      return true
    #endif
  }
}
