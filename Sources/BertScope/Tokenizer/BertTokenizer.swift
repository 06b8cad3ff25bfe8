import Foundation

/// WordPiece tokenizer, bit-exact with Hugging Face's `BertTokenizer` (transformers 5,
/// `BertTokenizerLegacy`, the Python one) and with its offsets as the fast tokenizer reports them.
///
/// Pipeline (all on Unicode scalars, which are Python's `str` elements):
/// special tokens written in the text are kept whole; the rest goes through `BasicTokenizer`
/// (clean, CJK spacing, whitespace split, NFC when accents are kept, `str.lower()`, accent
/// stripping, punctuation split) and `WordPieceModel` (greedy longest match, `##` continuations,
/// `[UNK]` for words over 100 scalars or without a segmentation).
/// Character classes follow Python 3.11's Unicode 14.0 (see `PythonUnicode`).
public struct BertTokenizer: Sendable {
  /// The WordPiece vocabulary tokens are looked up in.
  public let vocabulary: Vocabulary
  /// The `tokenizer_config.json` settings in force.
  public let options: TokenizerOptions
  /// Id of ``TokenizerOptions/clsToken``, prepended to every encoding.
  public let clsID: Int32
  /// Id of ``TokenizerOptions/sepToken``, which ends each text of an encoding.
  public let sepID: Int32
  /// Id of ``TokenizerOptions/padToken``, which the vocabulary must hold. Batches are packed
  /// without padding, so an encoding holds it only where the text writes it.
  public let padID: Int32
  /// Id of ``TokenizerOptions/unknownToken``, emitted for a word without a segmentation.
  public let unknownID: Int32
  /// Id of ``TokenizerOptions/maskToken``; nil when the vocabulary lacks it (it is optional).
  public let maskID: Int32?
  /// Whether special tokens written in the text (`[MASK]`, `[SEP]`, …, case-sensitive, even inside
  /// a word) stay one token each, as Hugging Face does by default (`split_special_tokens=False`).
  /// When false they are tokenized like any text (`[`, `mask`, `]`), as the fast tokenizer does
  /// with `split_special_tokens=True`.
  public var recognizesSpecialTokens = true

  let model: WordPieceModel
  /// Specials matched in the text, longest first.
  let specialTokens: [(scalars: [Unicode.Scalar], id: Int32)]

  /// Builds a tokenizer over `vocabulary`.
  ///
  /// - Parameters:
  ///   - vocabulary: the WordPiece vocabulary.
  ///   - options: the settings of `tokenizer_config.json`.
  ///   - path: names the vocabulary in error messages.
  /// - Throws: ``BertScopeError/badModelFile(path:problem:)`` when the unknown, `[CLS]`, `[SEP]`
  ///   or pad token is not in the vocabulary.
  public init(
    vocabulary: Vocabulary, options: TokenizerOptions = TokenizerOptions(), path: String = "vocab.txt"
  ) throws {
    func need(_ token: String) throws -> Int32 {
      guard let id = vocabulary.id(token) else {
        throw BertScopeError.badModelFile(
          path: path, problem: "special token \(printable(token)) is not in the vocabulary")
      }
      return id
    }
    self.vocabulary = vocabulary
    self.options = options
    clsID = try need(options.clsToken)
    sepID = try need(options.sepToken)
    padID = try need(options.padToken)
    unknownID = try need(options.unknownToken)
    maskID = vocabulary.id(options.maskToken)
    model = WordPieceModel(vocabulary: vocabulary)
    var specials: [(scalars: [Unicode.Scalar], id: Int32)] = []
    for token in [options.unknownToken, options.sepToken, options.padToken, options.clsToken, options.maskToken] {
      guard let id = vocabulary.id(token), !token.isEmpty, !specials.contains(where: { $0.id == id }) else { continue }
      specials.append((Array(token.unicodeScalars), id))
    }
    specialTokens = specials.sorted { $0.scalars.count > $1.scalars.count }
  }

  /// The WordPiece tokens of `text` (no `[CLS]`/`[SEP]` added, no truncation).
  public func wordPieces(_ text: String) -> [WordPiece] {
    var workspace = Workspace(options: options)
    var pieces = Pieces()
    appendPieces(of: text, to: &pieces, workspace: &workspace)
    return zip(pieces.ids, pieces.offsets).map { id, range in
      WordPiece(token: vocabulary.tokens[Int(id)], id: id, offsets: range)
    }
  }

  /// Encodes `text` (and `pair`) as `[CLS] A [SEP] (B [SEP])`.
  /// - Parameters:
  ///   - maxLength: longest result, specials included (default `options.maxLength`). Longer inputs
  ///     lose word pieces from the end by Hugging Face's `longest_first` rule.
  ///   - truncate: when false, an input longer than `maxLength` throws `sequenceTooLong`.
  public func encode(_ text: String, pair: String? = nil, maxLength: Int? = nil, truncate: Bool = true) throws
    -> Encoding
  {
    var workspace = Workspace(options: options)
    return try encode(text, pair: pair, maxLength: maxLength, truncate: truncate, workspace: &workspace)
  }

  /// Encodes many texts (or text pairs: `pairs[i]` goes with `texts[i]`) on all cores.
  /// Throws the error of the first input that fails.
  public func encode(_ texts: [String], pairs: [String]? = nil, maxLength: Int? = nil, truncate: Bool = true) throws
    -> [Encoding]
  {
    if let pairs, pairs.count != texts.count {
      throw BertScopeError.invalidInput("\(texts.count) texts but \(pairs.count) pairs")
    }
    return try encodeInParallel(count: texts.count, makeState: { Workspace(options: options) }) { i, workspace in
      try encode(texts[i], pair: pairs?[i], maxLength: maxLength, truncate: truncate, workspace: &workspace)
    }
  }

  /// How many word pieces Hugging Face's `longest_first` truncation removes from each side to
  /// drop `remove` pieces (transformers `truncate_sequences`): pieces go from the longer side,
  /// one at a time; on a tie from the second.
  static func longestFirst(first: Int, second: Int?, remove: Int) -> (first: Int, second: Int) {
    guard remove > 0 else { return (0, 0) }
    guard let second else { return (min(first, remove), 0) }
    let fromLonger = min(abs(second - first), remove)
    let alternating = remove - fromLonger
    if first > second {
      return (min(first, fromLonger + alternating / 2), min(second, alternating - alternating / 2))
    }
    return (min(first, alternating / 2), min(second, fromLonger + alternating - alternating / 2))
  }

  // MARK: - Internals

  /// Scratch buffers for one thread.
  struct Workspace {
    var basic: BasicTokenizer
    var scalars: [Unicode.Scalar] = []
    var pieceIDs: [Int32] = []
    var pieceEnds: [Int] = []

    init(options: TokenizerOptions) { basic = BasicTokenizer(options: options) }
  }

  /// Word pieces of one text: ids and source ranges.
  struct Pieces {
    var ids: [Int32] = []
    var offsets: [Range<Int>] = []
    var count: Int { ids.count }
  }

  func encode(_ text: String, pair: String?, maxLength: Int?, truncate: Bool, workspace: inout Workspace) throws
    -> Encoding
  {
    let limit = maxLength ?? options.maxLength
    let specials = pair == nil ? 2 : 3
    guard limit >= specials else {
      throw BertScopeError.invalidInput(
        "maxLength \(limit) cannot hold the \(specials) special tokens of a \(pair == nil ? "text" : "text pair")")
    }
    var first = Pieces()
    appendPieces(of: text, to: &first, workspace: &workspace)
    var second = Pieces()
    if let pair { appendPieces(of: pair, to: &second, workspace: &workspace) }
    let total = first.count + second.count + specials
    var removed = 0
    if total > limit {
      guard truncate else { throw BertScopeError.sequenceTooLong(length: total, maximum: limit) }
      let cut = Self.longestFirst(first: first.count, second: pair == nil ? nil : second.count, remove: total - limit)
      first.ids.removeLast(cut.first)
      first.offsets.removeLast(cut.first)
      second.ids.removeLast(cut.second)
      second.offsets.removeLast(cut.second)
      removed = cut.first + cut.second
    }
    let length = first.count + second.count + specials
    var ids = [Int32]()
    ids.reserveCapacity(length)
    var offsets = [Range<Int>?]()
    offsets.reserveCapacity(length)
    ids.append(clsID)
    offsets.append(nil)
    ids.append(contentsOf: first.ids)
    offsets.append(contentsOf: first.offsets.lazy.map { $0 })
    ids.append(sepID)
    offsets.append(nil)
    var segments = [Int32](repeating: 0, count: ids.count)
    if pair != nil {
      ids.append(contentsOf: second.ids)
      offsets.append(contentsOf: second.offsets.lazy.map { $0 })
      ids.append(sepID)
      offsets.append(nil)
      segments.append(contentsOf: repeatElement(1, count: second.count + 1))
    }
    let tokens = ids.map { vocabulary.tokens[Int($0)] }
    return Encoding(tokens: tokens, ids: ids, segments: segments, offsets: offsets, truncatedTokens: removed)
  }

  /// Appends the word pieces of `text` to `out`.
  func appendPieces(of text: String, to out: inout Pieces, workspace: inout Workspace) {
    workspace.scalars.removeAll(keepingCapacity: true)
    workspace.scalars.append(contentsOf: text.unicodeScalars)
    let scalars = workspace.scalars
    var segmentStart = 0
    var i = 0
    if recognizesSpecialTokens && !specialTokens.isEmpty {
      while i < scalars.count {
        guard let special = specialToken(at: i, in: scalars) else {
          i += 1
          continue
        }
        appendTextPieces(scalars, segmentStart..<i, to: &out, workspace: &workspace)
        out.ids.append(special.id)
        out.offsets.append(i..<(i + special.length))
        i += special.length
        segmentStart = i
      }
    }
    appendTextPieces(scalars, segmentStart..<scalars.count, to: &out, workspace: &workspace)
  }

  @inline(__always)
  private func specialToken(at i: Int, in scalars: [Unicode.Scalar]) -> (id: Int32, length: Int)? {
    for special in specialTokens where special.scalars.first == scalars[i] {
      let length = special.scalars.count
      if scalars.count - i >= length && scalars[i..<(i + length)].elementsEqual(special.scalars) {
        return (special.id, length)
      }
    }
    return nil
  }

  private func appendTextPieces(
    _ scalars: [Unicode.Scalar], _ range: Range<Int>, to out: inout Pieces, workspace: inout Workspace
  ) {
    var start = range.lowerBound
    while start < range.upperBound {
      workspace.basic.reset()
      start = workspace.basic.split(scalars, start..<range.upperBound, limit: 1 << 14)
      appendWordPieces(to: &out, workspace: &workspace)
    }
  }

  /// Runs WordPiece over the pre-tokens in `workspace.basic`.
  private func appendWordPieces(to out: inout Pieces, workspace: inout Workspace) {
    let pieces = workspace.basic.pieces
    for word in workspace.basic.pieceRanges {
      workspace.pieceIDs.removeAll(keepingCapacity: true)
      workspace.pieceEnds.removeAll(keepingCapacity: true)
      if model.segment(pieces.scalars[word], ids: &workspace.pieceIDs, ends: &workspace.pieceEnds) {
        var start = word.lowerBound
        for (id, end) in zip(workspace.pieceIDs, workspace.pieceEnds) {
          out.ids.append(id)
          out.offsets.append(pieces.sourceRange(start..<end)!)
          start = end
        }
      } else {
        out.ids.append(unknownID)
        out.offsets.append(pieces.sourceRange(word)!)
      }
    }
  }
}
