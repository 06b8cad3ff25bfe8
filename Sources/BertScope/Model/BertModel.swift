import Foundation

/// A BERT checkpoint loaded from a Hugging Face model folder:
/// `config.json`, `vocab.txt` (+ `tokenizer_config.json`) and `model.safetensors`.
public struct BertModel: Sendable {
  /// The model folder the files were read from.
  public let directory: URL
  /// The architecture read from `config.json`.
  public let config: BertConfig
  /// The WordPiece vocabulary read from `vocab.txt`.
  public let vocabulary: Vocabulary
  /// The tokenizer built from ``vocabulary`` and `tokenizer_config.json`.
  public let tokenizer: BertTokenizer
  /// The parameters read from `model.safetensors`, converted to F32.
  public let weights: BertWeights

  /// A short name for reports: the folder's name.
  public var name: String { directory.lastPathComponent }

  /// Assembles a model from parts already loaded and checked (tests build small ones this way).
  ///
  /// - Parameter directory: the folder reported as the model's origin; its last path
  ///   component becomes ``name``.
  public init(
    config: BertConfig, vocabulary: Vocabulary, tokenizer: BertTokenizer, weights: BertWeights, directory: URL
  ) {
    self.config = config
    self.vocabulary = vocabulary
    self.tokenizer = tokenizer
    self.weights = weights
    self.directory = directory
  }

  /// Loads and validates the model in `directory`.
  public static func load(from directory: URL) throws -> BertModel {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue
    else {
      throw BertScopeError.modelNotFound(path: directory.path, hint: ModelLocator.installHint)
    }
    for file in ["config.json", "vocab.txt", "model.safetensors"] {
      let url = directory.appendingPathComponent(file)
      // lstat, not fileExists: a broken link or a link loop is reported by the reader as such.
      guard ModelFile.exists(url) else {
        let extra =
          file == "model.safetensors"
            && FileManager.default.fileExists(atPath: directory.appendingPathComponent("pytorch_model.bin").path)
          ? "; only pytorch_model.bin is present: convert it with safetensors' convert script" : ""
        throw BertScopeError.modelNotFound(
          path: url.path, hint: "the model folder has no \(file)\(extra); \(ModelLocator.installHint)")
      }
    }
    let config = try BertConfig(contentsOf: directory.appendingPathComponent("config.json"))
    let vocabURL = directory.appendingPathComponent("vocab.txt")
    let vocabulary = try Vocabulary(contentsOf: vocabURL)
    let options = try TokenizerOptions(
      contentsOf: directory.appendingPathComponent("tokenizer_config.json"), maxPositions: config.maxPositions)
    let tokenizer = try BertTokenizer(vocabulary: vocabulary, options: options, path: vocabURL.path)
    let weightsURL = directory.appendingPathComponent("model.safetensors")
    let file = try SafeTensorsFile(contentsOf: weightsURL)
    if vocabulary.count != config.vocabSize {
      throw BertScopeError.badModelFile(
        path: vocabURL.path,
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
  /// The tokenizer of the model in `directory` (`vocab.txt` + `tokenizer_config.json`,
  /// `config.json` for the maximum length), without loading the weights.
  public static func load(from directory: URL) throws -> BertTokenizer {
    let vocabURL = directory.appendingPathComponent("vocab.txt")
    guard ModelFile.exists(vocabURL) else {
      throw BertScopeError.modelNotFound(path: vocabURL.path, hint: ModelLocator.installHint)
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
