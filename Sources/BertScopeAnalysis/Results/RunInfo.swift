import BertScope
import Foundation

/// The model an analysis ran on, as its JSON file records it (`"model": {…}`).
public struct ModelInfo: Codable, Sendable, Equatable {
  /// The model folder.
  public var path: String
  /// The folder's name, e.g. `all-MiniLM-L6-v2`.
  public var name: String
  /// Layers of the encoder.
  public var layers: Int
  /// Attention heads per layer.
  public var heads: Int

  /// A record of the model at `path`.
  public init(path: String, name: String, layers: Int, heads: Int) {
    self.path = path
    self.name = name
    self.layers = layers
    self.heads = heads
  }

  /// The record of a loaded model.
  public init(_ model: BertModel) {
    self.init(
      path: model.directory.path, name: model.name, layers: model.config.numLayers, heads: model.config.numHeads)
  }
}

/// The options of a corpus run, as the analysis JSON files record them (`"options": {…}`);
/// each analysis sets the ones it has.
public struct RunOptions: Codable, Sendable, Equatable {
  /// The corpus, as given on the command line.
  public var input: String?
  /// Corpus lines per batch (`CorpusSource.batchSize`).
  public var batchSize: Int?
  /// Texts used at most, from the start of the corpus (the report's ablation subset).
  public var limit: Int?
  /// How heads were disabled (`ablate`).
  public var mode: AblationMode?
  /// What the ablation measured (`ablate`).
  public var task: AblationTask?
  /// How sentence embeddings were pooled (`ablate`).
  public var pooling: Pooling?
  /// The second checkpoint of a comparison.
  public var modelB: String?
  /// The layers and heads kept, numbered from 1 (`attention --input`; nil: all).
  public var layers: [Int]?
  public var heads: [Int]?
  /// The element type of a map dump: `float32` or `float16` (`attention --input`).
  public var dtype: String?

  /// Options of a run; nil ones are left out of the file.
  public init(
    input: String? = nil, batchSize: Int? = nil, limit: Int? = nil, mode: AblationMode? = nil,
    task: AblationTask? = nil,
    pooling: Pooling? = nil, modelB: String? = nil
  ) {
    self.input = input
    self.batchSize = batchSize
    self.limit = limit
    self.mode = mode
    self.task = task
    self.pooling = pooling
    self.modelB = modelB
  }
}

/// What every analysis file says about the run that wrote it: the model, the backend, how
/// many examples, the options and the time taken.
public struct RunInfo: Codable, Sendable, Equatable {
  /// The model the numbers come from.
  public var model: ModelInfo
  /// E.g. "cpu (OpenBLAS Zen, 2 threads)".
  public var backend: String
  /// Texts (corpus lines) the numbers average over.
  public var examples: Int
  /// The options the run was given.
  public var options: RunOptions
  /// Seconds the corpus run took (loading the model not included); nil when unknown.
  public var seconds: Double?

  /// A record of a run.
  public init(model: ModelInfo, backend: String, examples: Int, options: RunOptions, seconds: Double?) {
    self.model = model
    self.backend = backend
    self.examples = examples
    self.options = options
    self.seconds = seconds
  }

  /// A stand-in for files that come without their JSON (a CSV copied alone).
  public static func unknown(layers: Int, heads: Int) -> RunInfo {
    RunInfo(
      model: ModelInfo(path: "", name: "unknown", layers: layers, heads: heads), backend: "unknown", examples: 0,
      options: RunOptions(), seconds: nil)
  }

  enum CodingKeys: String, CodingKey { case model, backend, examples, options, seconds }

  /// Writes the run's keys into an analysis file's top-level object (beside its own keys).
  func encode<K: CodingKey>(into container: inout KeyedEncodingContainer<K>) throws {
    func key(_ k: CodingKeys) -> K { K(stringValue: k.stringValue)! }
    try container.encode(model, forKey: key(.model))
    try container.encode(backend, forKey: key(.backend))
    try container.encode(examples, forKey: key(.examples))
    try container.encode(options, forKey: key(.options))
    try container.encode(JSONNumber(seconds), forKey: key(.seconds))
  }
}

/// A number as the analysis files print it: rounded to 6 decimals, so that outputs are
/// byte-stable; NaN and ±∞ (and nil) as `null`.
public struct JSONNumber: Codable, Sendable, Equatable {
  /// The number, nil for `null`.
  public var value: Double?

  /// A number to write (`nil` writes `null`).
  public init(_ value: Double?) { self.value = value }
  /// A Float to write, widened exactly.
  public init(_ value: Float) { self.value = Double(value) }

  /// The value as written: rounded to 6 decimals, nil when not finite.
  public var rounded: Double? {
    guard let value, value.isFinite else { return nil }
    return (value * 1e6).rounded() / 1e6
  }

  public func encode(to encoder: any Swift.Encoder) throws {
    var c = encoder.singleValueContainer()
    if let r = rounded { try c.encode(r) } else { try c.encodeNil() }
  }

  public init(from decoder: any Swift.Decoder) throws {
    let c = try decoder.singleValueContainer()
    value = c.decodeNil() ? nil : try c.decode(Double.self)
  }

  /// The decoded value, NaN for `null`.
  public var orNaN: Double { value ?? .nan }
}

/// The one JSON style of every file BertScope writes (sorted keys, 2-space indentation, no
/// escaped slashes) and the reader of those files, whose errors name the file and the key.
public enum AnalysisJSON {
  /// Files read are at most this large (a 48-layer × 64-head model's are under 1 MB).
  public static let maxFileBytes = 256 << 20

  /// `value` as JSON text in the one style: pretty-printed and ending in a newline, or on
  /// one line without a newline when `pretty` is false.
  public static func text(_ value: some Encodable, pretty: Bool = true) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting =
      pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted] : [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self) + (pretty ? "\n" : "")
  }

  /// Writes `value` to `url` atomically.
  public static func write(_ value: some Encodable, to url: URL) throws {
    try AtomicFile.write(try text(value), to: url)
  }

  /// Decodes `T` from the JSON file at `url`.
  public static func read<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
    try decode(type, from: FileBytes.read(url, limit: maxFileBytes), path: url.path)
  }

  /// Decodes `T` from `data`; a failure names `path` and where in the document it is.
  public static func decode<T: Decodable>(_ type: T.Type, from data: Data, path: String) throws -> T {
    do {
      return try JSONDecoder().decode(type, from: data)
    } catch let error as DecodingError {
      throw BertScopeError.invalidInput("\(path): \(describe(error))")
    } catch let error as InvalidValue {
      throw BertScopeError.invalidInput("\(path): \(error.message)")
    } catch let error as BertScopeError {
      throw error
    } catch {
      throw BertScopeError.invalidInput("\(path): not valid JSON")
    }
  }

  /// A decoding error in a few words: "missing "model"", "wrong type at heads.3.layer".
  public static func describe(_ error: DecodingError) -> String {
    func at(_ path: [CodingKey]) -> String {
      let text = path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
      return text.isEmpty ? "the top level" : printable(text)
    }
    switch error {
    case .keyNotFound(let key, let c):
      return "missing \"\(printable(key.stringValue))\"" + (c.codingPath.isEmpty ? "" : " in \(at(c.codingPath))")
    case .typeMismatch(_, let c), .valueNotFound(_, let c):
      return "wrong type at \(at(c.codingPath))"
    case .dataCorrupted(let c):
      if c.codingPath.isEmpty { return "not valid JSON" }
      return "bad value at \(at(c.codingPath)): \(printable(c.debugDescription))"
    @unknown default:
      return "not valid JSON"
    }
  }
}

/// What a type's decoder throws when the values decode but do not fit together (arrays that
/// do not match the shape they claim); `AnalysisJSON` names the file.
struct InvalidValue: Error {
  let message: String
  init(_ message: String) { self.message = message }
}

/// A JSON key that is any string: for objects keyed by enum names (pattern types, columns).
struct AnyKey: CodingKey {
  let stringValue: String
  var intValue: Int? { nil }
  init(_ string: String) { stringValue = string }
  init?(stringValue: String) { self.stringValue = stringValue }
  init?(intValue: Int) { nil }
}

extension AnalysisJSON {
  /// The values of `keys` in `container`'s object, in order, as numbers (null reads as NaN).
  static func numbers(_ keys: [String], from container: KeyedDecodingContainer<AnyKey>) throws -> [Double] {
    try keys.map { try container.decode(JSONNumber.self, forKey: AnyKey($0)).orNaN }
  }

  /// Writes `values` under `keys` as rounded numbers.
  static func encode(_ values: [Double], keys: [String], into container: inout KeyedEncodingContainer<AnyKey>) throws {
    for (k, v) in zip(keys, values) { try container.encode(JSONNumber(v), forKey: AnyKey(k)) }
  }
}
