import Foundation

/// A Hugging Face `tokenizer.json` pipeline, bit-exact with `tokenizers` 0.23 as transformers 5
/// calls it (`tok(text, pair, truncation=True, max_length=…, return_offsets_mapping=True)`):
/// added tokens in the raw text → normaliser → added tokens in the normalised text →
/// pre-tokenizer → model (``SubwordModel``) → `longest_first` truncation → post-processor.
///
/// Offsets are Unicode-scalar (Python `str`) ranges of the input, kept through every step the
/// way `tokenizers`' `NormalizedString` keeps them (see ``AlignedText``).
public struct PipelineTokenizer: Sendable, CustomStringConvertible {
  /// Every id: the model's vocabulary, then the added tokens (`""` for ids nothing names).
  public let vocabulary: Vocabulary
  /// Id of the classification token (`cls_token`, else the post-processor's first special,
  /// else `[CLS]`/`<s>`); nil when there is none.
  public let clsID: Int32?
  /// Id of the separator (`sep_token`, else the post-processor's last special, else
  /// `[SEP]`/`</s>`).
  public let sepID: Int32?
  /// Id of the padding token (`pad_token`, else `[PAD]`/`<pad>`).
  public let padID: Int32?
  /// Id of the unknown token (`unk_token`, else the model's, else `[UNK]`/`<unk>`).
  public let unknownID: Int32?
  /// Id of the mask token (`mask_token`, else `[MASK]`/`<mask>`).
  public let maskID: Int32?
  /// Id of `bos_token` when the configuration names one.
  public let bosID: Int32?
  /// Id of `eos_token` when the configuration names one.
  public let eosID: Int32?
  /// Longest encoding (specials included) `encode` returns by default: the smaller of
  /// `model_max_length` and the model's position count.
  public let maxLength: Int
  /// The components, e.g. "BertNormalizer → BertPreTokenizer → WordPiece → TemplateProcessing".
  public let description: String

  /// The `model` (WordPiece, BPE or Unigram).
  let model: any SubwordModel
  /// The model's `"type"`.
  let modelType: String
  /// The `normalizer`, if any.
  let normalizer: TextNormalizer?
  /// The `pre_tokenizer`, if any.
  let preTokenizer: PreTokenizer?
  /// The `post_processor`, if any.
  let postProcessor: PostProcessor?
  /// Added tokens matched in the raw text (`normalized: false`).
  let rawMatcher: AddedTokenMatcher
  /// Added tokens matched in the normalised text (`normalized: true`).
  let normalizedMatcher: AddedTokenMatcher
  /// The content of every added token, by id.
  let addedContent: [Int32: String]

  /// The largest `tokenizer.json` read (the biggest real ones are tens of MB).
  public static let maxJSONBytes = 512 << 20

  /// Builds the pipeline.
  ///
  /// - Parameters:
  ///   - json: the bytes of `tokenizer.json`.
  ///   - path: names it in error messages.
  ///   - config: the bytes of `tokenizer_config.json`, when there is one.
  ///   - maxPositions: the model's position count (bounds ``maxLength``).
  /// - Throws: ``BertScopeError/badModelFile(path:problem:)`` naming the JSON path of anything
  ///   malformed or unsupported.
  public init(json: Data, path: String, config: Data?, maxPositions: Int) throws {
    guard json.count <= Self.maxJSONBytes else {
      throw BertScopeError.badModelFile(
        path: path, problem: "is \(json.count) bytes, more than the \(Self.maxJSONBytes)-byte limit")
    }
    let root = try JSONNode.parse(json, file: path)
    _ = try root.object()
    let modelNode = try root.required("model")
    // The vocabulary's keys read from the bytes themselves: JSONSerialization's dictionary
    // would merge canonically equivalent tokens ("é" and "e\u{301}"), which tokenizers keeps apart.
    model = try SubwordModels.make(
      json: try modelNode.object(), path: path, exactVocabulary: ExactVocabulary.entries(tokenizerJSON: json))
    modelType = (try? modelNode.member("type")?.string()) ?? "model"

    // Added tokens.
    var added: [AddedToken] = []
    if let list = try root.member("added_tokens") {
      let items = try list.array()
      let bound = model.vocabularySize + items.count + 65_536
      for item in items {
        let token = try AddedToken(item)
        guard Int(token.id) < bound else {
          throw item.error("id \(token.id) is far beyond the vocabulary (\(model.vocabularySize) tokens)")
        }
        if !token.content.isEmpty { added.append(token) }
      }
    }
    var addedContent: [Int32: String] = [:]
    for token in added { addedContent[token.id] = token.content }
    self.addedContent = addedContent

    normalizer = try root.member("normalizer").map(TextNormalizer.parse)
    preTokenizer = try root.member("pre_tokenizer").map(PreTokenizer.parse)

    // The vocabulary: model ids, then added ones.
    let size = max(model.vocabularySize, (added.map { Int($0.id) }.max() ?? -1) + 1)
    var tokens = [String](repeating: "", count: size)
    for id in 0..<model.vocabularySize { tokens[id] = model.token(of: Int32(id)) ?? "" }
    for token in added { tokens[Int(token.id)] = token.content }
    vocabulary = Vocabulary(pipelineTokens: tokens)
    postProcessor = try root.member("post_processor").map { try PostProcessor.parse($0, vocabularySize: size) }

    // Matchers: normalised tokens match under their normalised form.
    let raw = added.filter { !$0.normalized }
    let normalizedTokens = added.filter(\.normalized)
    rawMatcher = AddedTokenMatcher(tokens: raw, patterns: raw.map { Array($0.content.unicodeScalars) })
    let normalizer = self.normalizer
    normalizedMatcher = AddedTokenMatcher(
      tokens: normalizedTokens,
      patterns: normalizedTokens.map { token in
        var text = AlignedText()
        text.reset(to: Array(token.content.unicodeScalars))
        if let normalizer { text = normalizer.apply(text) }
        return text.scalars
      })

    // tokenizer_config.json.
    var names: [String: String] = [:]
    var limit = maxPositions
    if let config {
      let node = try JSONNode.parse(config, file: "tokenizer_config.json")
      let dict = try node.object()
      for key in ["cls_token", "sep_token", "pad_token", "unk_token", "mask_token", "bos_token", "eos_token"] {
        if let s = dict[key] as? String {
          names[key] = s
        } else if let d = dict[key] as? [String: Any], let s = d["content"] as? String {
          names[key] = s
        }
      }
      if let raw = dict["model_max_length"], let value = JSONValue.number(raw), value >= 2, value < 1e9 {
        limit = min(maxPositions, Int(value))
      }
    }
    maxLength = limit

    var ids: [String: Int32] = [:]
    for token in added where ids[token.content] == nil { ids[token.content] = token.id }
    let model = self.model
    func id(_ token: String) -> Int32? { ids[token] ?? model.id(of: token) }
    func resolve(_ key: String, _ fallbacks: [String], from special: (String, Int32)? = nil) -> Int32? {
      if let name = names[key] { return id(name) }
      if let special { return special.1 }
      return fallbacks.lazy.compactMap(id).first
    }
    let specials = postProcessor?.singleSpecials
    clsID = resolve("cls_token", ["[CLS]", "<s>"], from: specials?.first)
    sepID = resolve("sep_token", ["[SEP]", "</s>"], from: specials?.last)
    padID = resolve("pad_token", ["[PAD]", "<pad>"])
    var modelUnknown: Int32? = nil
    if let s = try? modelNode.member("unk_token")?.string() {
      modelUnknown = id(s)
    } else if let n = try? modelNode.member("unk_id")?.integer() {
      modelUnknown = Int32(n)
    }
    unknownID = names["unk_token"].flatMap(id) ?? modelUnknown ?? resolve("unk_token", ["[UNK]", "<unk>"])
    maskID = resolve("mask_token", ["[MASK]", "<mask>"])
    bosID = names["bos_token"].flatMap(id)
    eosID = names["eos_token"].flatMap(id)

    description = [
      normalizer?.name ?? "no normalizer", preTokenizer?.name ?? "no pre-tokenizer", modelType,
      postProcessor?.name ?? "no post-processor",
    ].joined(separator: " → ")
  }

  /// The tokens of `text` before post-processing (no specials added, no truncation).
  public func pieces(_ text: String) -> [WordPiece] {
    let run = tokens(of: text, typeID: 0)
    return (0..<run.count).map { WordPiece(token: run.tokens[$0], id: run.ids[$0], offsets: run.offsets[$0] ?? 0..<0) }
  }

  /// Encodes `text` (and `pair`) as transformers 5 does with `truncation=True`: tokens, then
  /// `longest_first` truncation to `maxLength` counting the post-processor's specials, then the
  /// post-processor. An empty `pair` counts as none, as transformers treats it.
  ///
  /// - Parameters:
  ///   - maxLength: longest result, specials included (default ``maxLength``).
  ///   - truncate: when false, an input longer than `maxLength` throws `sequenceTooLong`.
  public func encode(_ text: String, pair: String? = nil, maxLength: Int? = nil, truncate: Bool = true) throws
    -> Encoding
  {
    let pair = (pair?.isEmpty ?? true) ? nil : pair
    var first = tokens(of: text, typeID: 0)
    var second = pair.map { tokens(of: $0, typeID: 1) }
    let limit = maxLength ?? self.maxLength
    let added = postProcessor?.addedTokens(pair: second != nil) ?? 0
    let total = first.count + (second?.count ?? 0) + added
    var removed = 0
    if total > limit {
      guard truncate else { throw BertScopeError.sequenceTooLong(length: total, maximum: limit) }
      // `tokenizers` subtracts the specials from max_length as an unsigned number: below them,
      // nothing is truncated.
      if limit >= added {
        let kept = Self.longestFirst(first: first.count, second: second?.count, budget: limit - added)
        removed = first.count - kept.first + (second.map { $0.count - kept.second } ?? 0)
        first.truncate(to: kept.first)
        second?.truncate(to: kept.second)
      }
    }
    let runs = second.map { [first, $0] } ?? [first]
    var merged = TokenRun()
    for run in postProcessor?.process(runs) ?? runs { merged.append(run) }
    return Encoding(
      tokens: merged.tokens, ids: merged.ids, segments: merged.typeIDs, offsets: merged.offsets,
      truncatedTokens: removed)
  }

  /// How many tokens of each text `longest_first` keeps within `budget` (`tokenizers`'
  /// `truncate_encodings`): a single text keeps `budget`; of a pair, the shorter keeps what it
  /// can, and when both must lose, they split the budget (the extra token to the longer).
  static func longestFirst(first: Int, second: Int?, budget: Int) -> (first: Int, second: Int) {
    guard let second else { return (min(first, budget), 0) }
    guard first + second > budget else { return (first, second) }
    if budget == 0 { return (0, 0) }
    var n1 = first
    var n2 = second
    let swapped = n1 > n2
    if swapped { swap(&n1, &n2) }
    if n1 > budget {
      n2 = n1
    } else {
      n2 = max(n1, budget - n1)
    }
    if n1 + n2 > budget {
      n1 = budget / 2
      n2 = n1 + budget % 2
    }
    if swapped { swap(&n1, &n2) }
    return (min(first, n1), min(second, n2))
  }

  // MARK: - Internals

  /// The string `tokenizers` reports for a model token.
  private func tokenString(_ id: Int32) -> String {
    if let s = addedContent[id] { return s }
    return model.token(of: id) ?? vocabulary.token(id)
  }

  /// Added tokens, normaliser, pre-tokenizer and model over one text.
  func tokens(of text: String, typeID: Int32) -> TokenRun {
    var aligned = AlignedText()
    aligned.reset(to: Array(text.unicodeScalars))
    aligned = rawMatcher.split(aligned)
    if let normalizer { aligned = normalizer.apply(aligned) }
    aligned = normalizedMatcher.split(aligned)
    if let preTokenizer { aligned = preTokenizer.apply(aligned) }
    var run = TokenRun()
    run.ids.reserveCapacity(aligned.pieces.count * 2)
    var subwords: [SubwordToken] = []
    let unigramUnknown = modelType == "Unigram" ? unknownID : nil
    for piece in aligned.pieces {
      if let id = piece.token {
        var content = String.UnicodeScalarView()
        content.append(contentsOf: aligned.scalars[piece.range])
        run.append(id: id, token: String(content), offsets: aligned.sourceRange(piece.range), typeID: typeID)
        continue
      }
      subwords.removeAll(keepingCapacity: true)
      model.tokenize(aligned.scalars[piece.range], into: &subwords)
      let lower = piece.range.lowerBound
      for sub in subwords {
        let range = (lower + sub.range.lowerBound)..<(lower + sub.range.upperBound)
        var token: String
        if let unigramUnknown, sub.id == unigramUnknown {
          // Unigram reports the text it could not segment, not the unknown token.
          var content = String.UnicodeScalarView()
          content.append(contentsOf: aligned.scalars[range])
          token = String(content)
        } else {
          token = tokenString(sub.id)
        }
        run.append(id: sub.id, token: token, offsets: aligned.sourceRange(range), typeID: typeID)
      }
    }
    return run
  }
}
