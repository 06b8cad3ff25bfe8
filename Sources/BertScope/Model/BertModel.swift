import Foundation

/// A checkpoint of one of the ``ModelFamily`` encoders loaded from a Hugging Face model folder:
/// `config.json`, `model.safetensors`, and `tokenizer.json` or `vocab.txt` (+ `tokenizer_config.json`).
public struct BertModel: Sendable {
  /// The model folder the files were read from.
  public let directory: URL
  /// The architecture read from `config.json`.
  public let config: BertConfig
  /// Every token by id (``Tokenizer/vocabulary``).
  public let vocabulary: Vocabulary
  /// The tokenizer of the folder (`tokenizer.json`, else `vocab.txt`).
  public let tokenizer: Tokenizer
  /// The parameters read from `model.safetensors`, converted to F32.
  public let weights: BertWeights

  /// A short name for reports: the folder's name.
  public var name: String { directory.lastPathComponent }

  /// Assembles a model from parts already loaded and checked (tests build small ones this way).
  ///
  /// - Parameter directory: the folder reported as the model's origin; its last path
  ///   component becomes ``name``.
  public init(
    config: BertConfig, vocabulary: Vocabulary, tokenizer: Tokenizer, weights: BertWeights, directory: URL
  ) {
    self.config = config
    self.vocabulary = vocabulary
    self.tokenizer = tokenizer
    self.weights = weights
    self.directory = directory
  }

  /// Assembles a model with a `vocab.txt` tokenizer.
  public init(
    config: BertConfig, vocabulary: Vocabulary, tokenizer: BertTokenizer, weights: BertWeights, directory: URL
  ) {
    self.init(
      config: config, vocabulary: vocabulary, tokenizer: Tokenizer(tokenizer), weights: weights, directory: directory)
  }

  /// Loads and validates the model in `directory`.
  public static func load(from directory: URL) throws -> BertModel {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue
    else {
      throw BertScopeError.modelNotFound(
        path: directory.path, hint: "no such folder" + ModelLocator.installHint(for: directory))
    }
    for file in ["config.json", "model.safetensors"] {
      let url = directory.appendingPathComponent(file)
      // lstat, not fileExists: a broken link or a link loop is reported by the reader as such.
      guard ModelFile.exists(url) else {
        let extra =
          file == "model.safetensors"
            && FileManager.default.fileExists(atPath: directory.appendingPathComponent("pytorch_model.bin").path)
          ? "; only pytorch_model.bin is present: convert it with safetensors' convert script" : ""
        throw BertScopeError.modelNotFound(
          path: url.path,
          hint: "the model folder \(directory.path) has no \(file)\(extra)" + ModelLocator.installHint(for: directory))
      }
    }
    let config = try BertConfig(contentsOf: directory.appendingPathComponent("config.json"))
    let tokenizer = try Tokenizer.load(from: directory, maxPositions: config.maxPositions, family: config.family)
    let vocabulary = tokenizer.vocabulary
    let weightsURL = directory.appendingPathComponent("model.safetensors")
    let file = try SafeTensorsFile(contentsOf: weightsURL)
    // vocab.txt must match the embedding rows exactly; a tokenizer.json's ids must fit in them
    // (checkpoints often pad the embedding matrix beyond the vocabulary).
    let fits = tokenizer.isPipeline ? vocabulary.count <= config.vocabSize : vocabulary.count == config.vocabSize
    if !fits {
      throw BertScopeError.badModelFile(
        path: directory.appendingPathComponent(tokenizer.isPipeline ? "tokenizer.json" : "vocab.txt").path,
        problem:
          "has \(vocabulary.count) tokens but the embedding matrix has \(config.vocabSize) rows (vocab_size in config.json); vocabulary and weights do not belong together"
      )
    }
    let weights = try BertWeights(file: file, config: config)
    return BertModel(
      config: config, vocabulary: vocabulary, tokenizer: tokenizer, weights: weights, directory: directory)
  }
}

/// Where the model comes from: `--model DIR`, else `$BERTSCOPE_MODEL`, else the folder the
/// setup script installs the default model (all-MiniLM-L6-v2) into.
public enum ModelLocator {
  /// The Hugging Face name of the model the setup script installs.
  public static let defaultModelName = "all-MiniLM-L6-v2"

  /// `$XDG_DATA_HOME/bertscope/models/all-MiniLM-L6-v2`, `$XDG_DATA_HOME` defaulting to `~/.local/share`.
  public static var defaultDirectory: URL {
    let env = ProcessInfo.processInfo.environment
    let base: URL
    if let xdg = env["XDG_DATA_HOME"], !xdg.isEmpty {
      base = URL(fileURLWithPath: xdg, isDirectory: true)
    } else {
      base = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".local/share", isDirectory: true)
    }
    return base.appendingPathComponent("bertscope/models/\(defaultModelName)", isDirectory: true)
  }

  /// The advice appended to "model not found" errors.
  public static let installHint =
    "run scripts/setup to install the default model, or pass --model DIR / set BERTSCOPE_MODEL"

  /// `"; " + installHint` when `directory` is the default model's folder (the setup script
  /// installs it), else nothing: a folder the user named is theirs to fix.
  public static func installHint(for directory: URL) -> String {
    directory.standardizedFileURL.path == defaultDirectory.standardizedFileURL.path ? "; " + installHint : ""
  }

  /// The folder to load: `explicit` if given, else `$BERTSCOPE_MODEL`, else the default.
  public static func resolve(_ explicit: String?) -> URL {
    if let explicit, !explicit.isEmpty { return URL(fileURLWithPath: explicit, isDirectory: true) }
    if let env = ProcessInfo.processInfo.environment["BERTSCOPE_MODEL"], !env.isEmpty {
      return URL(fileURLWithPath: env, isDirectory: true)
    }
    return defaultDirectory
  }
}

extension BertTokenizer {
  /// The `vocab.txt` tokenizer of the model in `directory` (`vocab.txt` +
  /// `tokenizer_config.json`, `config.json` for the maximum length), without loading the
  /// weights; ``Tokenizer/load(from:)`` prefers the folder's `tokenizer.json`.
  public static func load(from directory: URL) throws -> BertTokenizer {
    let vocabURL = directory.appendingPathComponent("vocab.txt")
    guard ModelFile.exists(vocabURL) else {
      throw BertScopeError.modelNotFound(
        path: vocabURL.path,
        hint: "the model folder \(directory.path) has no vocab.txt" + ModelLocator.installHint(for: directory))
    }
    var maxPositions = 512
    let configURL = directory.appendingPathComponent("config.json")
    if ModelFile.exists(configURL) {
      maxPositions = try BertConfig(contentsOf: configURL).maxPositions
    }
    let options = try TokenizerOptions(
      contentsOf: directory.appendingPathComponent("tokenizer_config.json"), maxPositions: maxPositions)
    return try BertTokenizer(vocabulary: try Vocabulary(contentsOf: vocabURL), options: options, path: vocabURL.path)
  }
}
