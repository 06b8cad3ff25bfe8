import ArgumentParser
import BertScope
import BertScopeAnalysis
import Foundation

struct TokenizeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tokenize",
    abstract:
      "Tokenize text as the model's tokenizer does (tokenizer.json as Hugging Face tokenizers does, else vocab.txt as BertTokenizer).",
    discussion: """
      Prints one JSON object per text on stdout: {"ids": [...], "segments": [...], "tokens": [...]}. \
      With --input, one text per line; a TAB separates the two texts of a pair.
      """)

  @Option(help: "Text to tokenize.") var text: String?
  @Option(help: "Second text of a pair (segment 1).") var pair: String?
  @Option(help: "File with one text per line (TAB separates a pair); - for stdin.") var input: String?
  @Option(help: "Hugging Face model folder (default: $BERTSCOPE_MODEL, else the installed default).") var model: String?
  @Flag(help: "Fail on inputs longer than the model's maximum instead of truncating them.") var noTruncate = false
  @Flag(help: "Also print each token's character offsets in the source text.") var offsets = false
  @Flag(
    help: ArgumentHelp(
      "Print no encodings; report texts, tokens and tokens/s (one thread, file reading included) on stderr.",
      discussion: "For measuring the tokenizer alone, e.g. against Hugging Face tokenizers (bench/tokenizers)."))
  var time = false

  func validate() throws {
    if (text == nil) == (input == nil) { throw ValidationError("give exactly one of --text or --input") }
    if pair != nil && input != nil {
      throw ValidationError("--pair goes with --text; in --input files a TAB separates the pair")
    }
  }

  func run() throws {
    let tokenizer = try Tokenizer.load(from: ModelLocator.resolve(model))
    let truncation = Truncation(truncate: !noTruncate, note: { printError("note: \($0)") })
    var out = ""
    var texts = 0
    var tokens = 0
    let start = DispatchTime.now().uptimeNanoseconds
    func emit(_ e: Encoding) throws {
      texts += 1
      tokens += e.count
      if time { return }
      out += try AnalysisJSON.text(TokensFile(e, offsets: offsets), pretty: false) + "\n"
      if out.utf8.count > 1 << 16 { flush() }
    }
    func flush() {
      FileHandle.standardOutput.write(Data(out.utf8))
      out = ""
    }
    if let text {
      try emit(try truncation.encode(tokenizer, text, pair: pair, where: "--text"))
    } else if let input {
      let reader = try CorpusReader(path: input)
      while let line = try reader.nextLine() { try emit(try truncation.encode(tokenizer, line, path: reader.path)) }
    }
    flush()
    if time {
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
      let rate = String(format: "%.3f s: %.0f tokens/s", seconds, Double(tokens) / max(seconds, 1e-9))
      printError("tokenize: \(texts) texts, \(tokens) tokens in \(rate) (\(tokenizer.summary))")
    }
  }
}
