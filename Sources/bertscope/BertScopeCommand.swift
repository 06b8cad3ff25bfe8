import ArgumentParser
import BertScope

@main
struct BertScopeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bertscope",
    abstract: "Look inside BERT-family encoders: attention maps, analyses, reports.")
}
