import ArgumentParser
import BertScope
import Foundation

/// Which model and which backend: shared by every command that runs the model.
struct ModelOptions: ParsableArguments {
  @Option(help: "Hugging Face BERT model folder (default: $BERTSCOPE_MODEL, else the installed all-MiniLM-L6-v2).")
  var model: String?

  @Option(help: "Backend: cpu, opencl or auto (auto takes a GPU OpenCL device when there is one, else the CPU).")
  var backend: BackendKind = .cpu

  @Option(help: "OpenCL device index, as listed by `bertscope devices` (default: the first GPU, else the first device).")
  var device: Int?

  @Flag(help: "Fail on inputs longer than the model's maximum instead of truncating them.")
  var noTruncate = false

  @Flag(name: .shortAndLong, help: "No progress or notes on stderr.")
  var quiet = false

  var directory: URL { ModelLocator.resolve(model) }

  func note(_ message: String) {
    if !quiet { printError("note: \(message)") }
  }

  func loadModel() throws -> BertModel {
    try BertModel.load(from: directory)
  }

  func makeEncoder(_ model: BertModel) throws -> Encoder {
    let encoder = try Encoder(model: model, backend: backend, device: device, note: note)
    return encoder
  }

  var truncation: Truncation { Truncation(noTruncate: noTruncate, quiet: quiet) }

  /// Tokenizes with the truncation policy of `--no-truncate`, with a note when text is cut.
  func encode(_ tokenizer: BertTokenizer, _ text: String, pair: String? = nil, where location: String) throws -> Encoding {
    try truncation.encode(tokenizer, text, pair: pair, where: location)
  }
}

/// Over-long inputs: truncated with a note on stderr, or an error with `--no-truncate`.
struct Truncation {
  var noTruncate = false
  var quiet = false

  func encode(_ tokenizer: BertTokenizer, _ text: String, pair: String? = nil, where location: String) throws -> Encoding {
    do {
      let e = try tokenizer.encode(text, pair: pair, truncate: !noTruncate)
      if e.truncatedTokens > 0 && !quiet {
        printError("note: \(location): truncated to \(e.count) tokens (\(e.truncatedTokens) word pieces dropped; --no-truncate makes this an error)")
      }
      return e
    } catch BertScopeError.sequenceTooLong(let length, let maximum) {
      throw BertScopeError.invalidInput("\(location): \(length) tokens, the model takes at most \(maximum) (--no-truncate is set)")
    }
  }
}

extension BackendKind: ExpressibleByArgument {}
extension Pooling: ExpressibleByArgument {}

/// Parses "1,3,5" (1-based) into 0-based indices.
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

/// JSON text for command output: stable key order, no escaped slashes.
func jsonText(_ object: Any, pretty: Bool = false) throws -> String {
  var options: JSONSerialization.WritingOptions = [.sortedKeys, .withoutEscapingSlashes]
  if pretty { options.insert(.prettyPrinted) }
  let data = try JSONSerialization.data(withJSONObject: object, options: options)
  return String(decoding: data, as: UTF8.self)
}

func encodingJSON(_ e: Encoding) -> [String: Any] {
  ["tokens": e.tokens, "ids": e.ids.map { Int($0) }, "segments": e.segments.map { Int($0) }]
}
