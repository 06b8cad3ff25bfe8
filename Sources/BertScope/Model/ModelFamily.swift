import Foundation

/// The encoder architectures BertScope runs, by the `model_type` of their `config.json`.
///
/// All are post-LayerNorm BERT encoders; they differ in the names of their weights, where
/// their position ids start, whether they take token types, and (ELECTRA) a projection of the
/// embeddings to the hidden size:
///
/// | `model_type` | weight prefix | positions start at | token types | notes |
/// |---|---|---|---|---|
/// | `bert` | `bert.` | 0 | yes | |
/// | `roberta`, `xlm-roberta`, `camembert` | `roberta.` | `pad_token_id + 1` | no (zeros) | |
/// | `distilbert` | `distilbert.` | 0 | none | own layer names (`q_lin`, `sa_layer_norm`, `ffn.lin1`, …) |
/// | `electra` | `electra.` | 0 | yes | `embeddings_project` when `embedding_size` ≠ `hidden_size` |
public enum ModelFamily: String, Sendable, Codable, CaseIterable {
  /// BERT (`BertModel`), the default when `config.json` names no `model_type`.
  case bert
  /// RoBERTa (`RobertaModel`).
  case roberta
  /// XLM-RoBERTa (`XLMRobertaModel`): RoBERTa's architecture.
  case xlmRoberta = "xlm-roberta"
  /// CamemBERT (`CamembertModel`): RoBERTa's architecture.
  case camembert
  /// DistilBERT (`DistilBertModel`).
  case distilbert
  /// ELECTRA's discriminator or generator encoder (`ElectraModel`).
  case electra

  /// The `model_type`s BertScope knows of but does not run, with what differs, so that the
  /// error can say why rather than only "unsupported".
  static let knownUnsupported: [String: String] = [
    "albert": "shared layers and factorised embeddings",
    "deberta": "disentangled relative-position attention",
    "deberta-v2": "disentangled relative-position attention",
    "mpnet": "relative-position attention buckets",
    "xlnet": "two-stream relative attention",
    "longformer": "sliding-window attention",
    "bigbird": "block-sparse attention",
    "big_bird": "block-sparse attention",
    "modernbert": "rotary positions, pre-LayerNorm and local attention",
    "nomic_bert": "rotary positions",
    "t5": "an encoder–decoder with relative positions",
    "gpt2": "a decoder",
  ]

  /// The family of `modelType`, or an error naming it and listing the supported ones.
  public init(modelType: String, path: String) throws {
    if let family = ModelFamily(rawValue: modelType) {
      self = family
      return
    }
    let why = Self.knownUnsupported[modelType].map { " (\($0))" } ?? ""
    throw BertScopeError.badModelFile(
      path: path,
      problem:
        "model_type \"\(printable(modelType))\" is not supported\(why); BertScope runs \(Self.supportedList)")
  }

  /// `bert, roberta, xlm-roberta, camembert, distilbert, electra`.
  public static var supportedList: String { allCases.map(\.rawValue).joined(separator: ", ") }

  /// The prefix of the encoder's weights in a checkpoint with a task head
  /// (`RobertaForSequenceClassification` stores `roberta.encoder…`); a bare encoder has none.
  public var weightPrefix: String {
    switch self {
    case .bert: return "bert."
    case .roberta, .xlmRoberta, .camembert: return "roberta."
    case .distilbert: return "distilbert."
    case .electra: return "electra."
    }
  }

  /// Whether the model adds a token-type (segment) embedding chosen by the tokenizer's type
  /// ids. RoBERTa-family models have a one-row table that every position uses (their
  /// tokenizers pass no `token_type_ids`); DistilBERT has none.
  public var usesTokenTypes: Bool {
    switch self {
    case .bert, .electra: return true
    case .roberta, .xlmRoberta, .camembert, .distilbert: return false
    }
  }

  /// Whether position ids start after the padding id (`padding_idx + 1`), as RoBERTa's do.
  public var positionsAfterPadding: Bool {
    switch self {
    case .roberta, .xlmRoberta, .camembert: return true
    case .bert, .distilbert, .electra: return false
    }
  }

  /// The special tokens by role as this family writes them (used when a tokenizer does not
  /// name them itself): classification / sequence start, and separator / sequence end.
  public var defaultSpecialTokens: (cls: String, sep: String) {
    switch self {
    case .bert, .distilbert, .electra: return ("[CLS]", "[SEP]")
    case .roberta, .xlmRoberta, .camembert: return ("<s>", "</s>")
    }
  }
}
