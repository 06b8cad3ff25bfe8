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
      SelftestCommand.self, TuneCommand.self, ProfileCommand.self, PatternsCommand.self,
      SpecialCommand.self, AblateCommand.self, CompareCommand.self, RelationsCommand.self, LinguisticCommand.self,
      RolloutCommand.self, ClustersCommand.self,
      ReportCommand.self, PlotCommand.self, MergeCommand.self, ServeCommand.self,
    ])

  /// Parses, runs, and turns every failure into one line on stderr and a non-zero exit.
  static func main() {
    Signals.install()
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch BertScopeError.interrupted(let signal, let message) {
      printError((isatty(2) == 1 ? "\r\u{1B}[K" : "") + message)
      Foundation.exit(128 + signal)
    } catch let error as BertScopeError {
      printError("error: \(error.description)")
      Foundation.exit(1)
    } catch {
      exit(withError: error)
    }
  }
}
