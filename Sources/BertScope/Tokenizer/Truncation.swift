import Foundation

/// Receives one-line notes meant for the user (the CLI prints them as `note: …` on stderr;
/// a server might log them).
public typealias NoteSink = @Sendable (String) -> Void

/// What happens to inputs longer than the model's maximum: truncated by Hugging Face's
/// `longest_first` rule with a note naming the input, or refused (`--no-truncate`).
public struct Truncation: Sendable {
  /// False refuses over-long inputs instead of cutting them.
  public var truncate: Bool
  /// Receives "`where`: truncated to N tokens (…)" notes; nil keeps quiet.
  public var note: NoteSink?

  /// Builds a policy; the default truncates silently.
  ///
  /// - Parameters:
  ///   - truncate: false refuses over-long inputs with an error instead of cutting them.
  ///   - note: receives one line per truncated input; nil keeps quiet.
  public init(truncate: Bool = true, note: NoteSink? = nil) {
    self.truncate = truncate
    self.note = note
  }

  /// Tokenizes `text` (and `pair`) by this policy; `location` names the input in notes and
  /// errors (`corpus.txt:17`, `--text`).
  public func encode(_ tokenizer: Tokenizer, _ text: String, pair: String? = nil, where location: String) throws
    -> Encoding
  {
    do {
      let e = try tokenizer.encode(text, pair: pair, truncate: truncate)
      if e.truncatedTokens > 0, let note {
        note(
          "\(location): truncated to \(e.count) tokens (\(e.truncatedTokens) tokens dropped; --no-truncate makes this an error)"
        )
      }
      return e
    } catch BertScopeError.sequenceTooLong(let length, let maximum) {
      throw BertScopeError.invalidInput(
        "\(location): \(length) tokens, the model takes at most \(maximum) (--no-truncate is set)")
    }
  }

  /// Tokenizes a corpus line (its text, and its pair when it has a TAB), naming `path:line`.
  public func encode(_ tokenizer: Tokenizer, _ line: CorpusLine, path: String) throws -> Encoding {
    try encode(tokenizer, line.text, pair: line.pair, where: "\(path):\(line.number)")
  }
}
