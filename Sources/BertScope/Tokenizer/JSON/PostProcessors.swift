import Foundation

/// The tokens of one text (or, after post-processing, of the whole input) on their way to an
/// ``Encoding``.
struct TokenRun {
  /// Vocabulary ids.
  var ids: [Int32] = []
  /// Token strings.
  var tokens: [String] = []
  /// Source ranges (Unicode scalars); nil for the specials a post-processor adds.
  var offsets: [Range<Int>?] = []
  /// Segment ids.
  var typeIDs: [Int32] = []

  /// Number of tokens.
  var count: Int { ids.count }

  /// Appends one token.
  mutating func append(id: Int32, token: String, offsets range: Range<Int>?, typeID: Int32) {
    ids.append(id)
    tokens.append(token)
    offsets.append(range)
    typeIDs.append(typeID)
  }

  /// Appends all of `other`.
  mutating func append(_ other: TokenRun) {
    ids.append(contentsOf: other.ids)
    tokens.append(contentsOf: other.tokens)
    offsets.append(contentsOf: other.offsets)
    typeIDs.append(contentsOf: other.typeIDs)
  }

  /// Keeps the first `n` tokens.
  mutating func truncate(to n: Int) {
    let drop = count - n
    guard drop > 0 else { return }
    ids.removeLast(drop)
    tokens.removeLast(drop)
    offsets.removeLast(drop)
    typeIDs.removeLast(drop)
  }

  /// Sets every segment id to `value`.
  mutating func setTypeIDs(_ value: Int32) {
    for k in typeIDs.indices { typeIDs[k] = value }
  }

  /// ByteLevel's `process_offsets` (trim_offsets): leading and trailing spaces (`Ġ` or
  /// whitespace) of each token leave its range; one leading space stays on the first token when
  /// a prefix space was added.
  mutating func trimByteLevelOffsets(addPrefixSpace: Bool) {
    let spaceCharacter = ByteLevelAlphabet.characters[0x20]
    func isSpace(_ c: Unicode.Scalar) -> Bool { c == spaceCharacter || RustUnicode.isWhitespace(c) }
    for i in 0..<count {
      guard let range = offsets[i] else { continue }
      let scalars = tokens[i].unicodeScalars
      var leading = 0
      for c in scalars {
        guard isSpace(c) else { break }
        leading += 1
      }
      var trailing = 0
      for c in scalars.reversed() {
        guard isSpace(c) else { break }
        trailing += 1
      }
      var lower = range.lowerBound
      var upper = range.upperBound
      if leading > 0 {
        let isFirst = i == 0 || lower == 0
        if isFirst && addPrefixSpace && leading == 1 { leading = 0 }
        lower = min(lower + leading, upper)
      }
      if trailing > 0 && upper >= trailing {
        upper = max(upper - trailing, lower)
      }
      offsets[i] = lower..<upper
    }
  }
}

/// A special token a template inserts: one or more ids with their strings.
struct TemplateSpecial: Sendable {
  /// Ids, in order.
  var ids: [Int32]
  /// Token strings, one per id.
  var tokens: [String]
}

/// One element of a `TemplateProcessing` template.
enum TemplatePiece: Sendable {
  /// `$A` (`first` true) or `$B`, with its segment id.
  case sequence(first: Bool, typeID: Int32)
  /// A special token, with its segment id.
  case special(TemplateSpecial, typeID: Int32)
}

/// A `post_processor` of `tokenizer.json`: adds the special tokens around the text(s) and sets
/// the segment ids.
indirect enum PostProcessor: Sendable {
  /// `BertProcessing`: `[CLS] A [SEP]`, `B [SEP]` as segment 1.
  case bert(cls: (String, Int32), sep: (String, Int32))
  /// `RobertaProcessing`: `<s> A </s>`, `</s> B </s>`, all segment 0.
  case roberta(cls: (String, Int32), sep: (String, Int32), trimOffsets: Bool, addPrefixSpace: Bool)
  /// `TemplateProcessing`.
  case template(single: [TemplatePiece], pair: [TemplatePiece])
  /// `ByteLevel` (offset trimming only).
  case byteLevel(trimOffsets: Bool, addPrefixSpace: Bool)
  /// `Sequence`: each in turn.
  case sequence([PostProcessor])

  /// The supported `"type"`s.
  static let supportedTypes = ["BertProcessing", "RobertaProcessing", "TemplateProcessing", "ByteLevel", "Sequence"]

  /// Parses a post-processor object; `vocabularySize` bounds the ids it names.
  static func parse(_ node: JSONNode, vocabularySize: Int) throws -> PostProcessor {
    let type = try node.type()
    func pair(_ key: String) throws -> (String, Int32) {
      let n = try node.required(key)
      let items = try n.array()
      guard items.count == 2 else { throw n.error("expected [token, id]") }
      return (try items[0].string(), Int32(try items[1].integer(in: 0...max(0, vocabularySize - 1))))
    }
    switch type {
    case "BertProcessing":
      return .bert(cls: try pair("cls"), sep: try pair("sep"))
    case "RobertaProcessing":
      return .roberta(
        cls: try pair("cls"), sep: try pair("sep"), trimOffsets: try node.bool("trim_offsets", default: true),
        addPrefixSpace: try node.bool("add_prefix_space", default: true))
    case "ByteLevel":
      return .byteLevel(
        trimOffsets: try node.bool("trim_offsets", default: true),
        addPrefixSpace: try node.bool("add_prefix_space", default: true))
    case "TemplateProcessing":
      var specials: [String: TemplateSpecial] = [:]
      if let tokens = try node.member("special_tokens") {
        for (name, _) in try tokens.object() {
          let entry = try tokens.required(name)
          let ids = try entry.required("ids").array().map {
            Int32(try $0.integer(in: 0...max(0, vocabularySize - 1)))
          }
          let strings = try entry.required("tokens").array().map { try $0.string() }
          guard ids.count == strings.count, !ids.isEmpty else {
            throw entry.error("\"ids\" and \"tokens\" must be non-empty and of equal length")
          }
          specials[name] = TemplateSpecial(ids: ids, tokens: strings)
        }
      }
      func template(_ key: String, pair: Bool) throws -> [TemplatePiece] {
        let list = try node.required(key)
        let items = try list.array()
        guard !items.isEmpty else { throw list.error("the template is empty") }
        return try items.map { item in
          if let s = try item.member("Sequence") {
            let id = try s.required("id").string()
            guard id == "A" || (id == "B" && pair) else {
              throw s.error(
                pair ? "sequence id must be \"A\" or \"B\"" : "the single template can only hold sequence A")
            }
            return .sequence(first: id == "A", typeID: Int32(try s.required("type_id").integer()))
          }
          if let t = try item.member("SpecialToken") {
            let id = try t.required("id").string()
            guard let special = specials[id] else {
              throw t.error("special token \"\(printable(id))\" is not in \"special_tokens\"")
            }
            return .special(special, typeID: Int32(try t.required("type_id").integer()))
          }
          throw item.error("expected {\"Sequence\": …} or {\"SpecialToken\": …}")
        }
      }
      return .template(single: try template("single", pair: false), pair: try template("pair", pair: true))
    case "Sequence":
      return .sequence(try node.required("processors").array().map { try parse($0, vocabularySize: vocabularySize) })
    default:
      throw node.unsupported("post-processor", type, supported: supportedTypes)
    }
  }

  /// Short name for summaries.
  var name: String {
    switch self {
    case .bert: "BertProcessing"
    case .roberta: "RobertaProcessing"
    case .template: "TemplateProcessing"
    case .byteLevel: "ByteLevel"
    case .sequence(let steps): "Sequence[" + steps.map(\.name).joined(separator: ", ") + "]"
    }
  }

  /// How many tokens it adds to a text (`pair` false) or a pair.
  func addedTokens(pair: Bool) -> Int {
    switch self {
    case .bert: pair ? 3 : 2
    case .roberta: pair ? 4 : 2
    case .byteLevel: 0
    case .template(let single, let pairTemplate):
      (pair ? pairTemplate : single).reduce(0) {
        if case .special(let s, _) = $1 { return $0 + s.ids.count }
        return $0
      }
    case .sequence(let steps): steps.reduce(0) { $0 + $1.addedTokens(pair: pair) }
    }
  }

  /// The specials it puts first and last around a single text, for naming `[CLS]`/`[SEP]`.
  var singleSpecials: (first: (String, Int32)?, last: (String, Int32)?) {
    switch self {
    case .bert(let cls, let sep), .roberta(let cls, let sep, _, _): return (cls, sep)
    case .byteLevel: return (nil, nil)
    case .template(let single, _):
      var first: (String, Int32)? = nil
      var last: (String, Int32)? = nil
      if case .special(let s, _) = single.first { first = (s.tokens[0], s.ids[0]) }
      if case .special(let s, _) = single.last, single.count > 1 { last = (s.tokens[0], s.ids[0]) }
      return (first, last)
    case .sequence(let steps):
      for step in steps {
        let found = step.singleSpecials
        if found.first != nil || found.last != nil { return found }
      }
      return (nil, nil)
    }
  }

  /// Processes the encodings of the text (and pair), in the shape
  /// `PostProcessor::process_encodings` gives: one or more runs, concatenated by the caller.
  func process(_ runs: [TokenRun]) -> [TokenRun] {
    switch self {
    case .sequence(let steps):
      var current = runs
      for step in steps { current = step.process(current) }
      return current
    case .byteLevel(let trim, let addPrefixSpace):
      guard trim else { return runs }
      return runs.map {
        var run = $0
        run.trimByteLevelOffsets(addPrefixSpace: addPrefixSpace)
        return run
      }
    case .bert(let cls, let sep):
      var out: [TokenRun] = []
      for (i, run) in runs.enumerated() {
        var r = TokenRun()
        if i == 0 {
          r.append(id: cls.1, token: cls.0, offsets: nil, typeID: 0)
          r.append(run)
          r.setTypeIDs(0)
          r.append(id: sep.1, token: sep.0, offsets: nil, typeID: 0)
        } else {
          r.append(run)
          r.setTypeIDs(1)
          r.append(id: sep.1, token: sep.0, offsets: nil, typeID: 1)
        }
        out.append(r)
      }
      return out
    case .roberta(let cls, let sep, let trim, let addPrefixSpace):
      var out: [TokenRun] = []
      for (i, var run) in runs.enumerated() {
        if trim { run.trimByteLevelOffsets(addPrefixSpace: addPrefixSpace) }
        var r = TokenRun()
        r.append(id: i == 0 ? cls.1 : sep.1, token: i == 0 ? cls.0 : sep.0, offsets: nil, typeID: 0)
        r.append(run)
        r.append(id: sep.1, token: sep.0, offsets: nil, typeID: 0)
        r.setTypeIDs(0)
        out.append(r)
      }
      return out
    case .template(let single, let pair):
      var out: [TokenRun] = []
      for piece in runs.count == 2 ? pair : single {
        switch piece {
        case .sequence(let first, let typeID):
          var run = runs[first ? 0 : 1]
          run.setTypeIDs(typeID)
          out.append(run)
        case .special(let s, let typeID):
          var run = TokenRun()
          for (id, token) in zip(s.ids, s.tokens) { run.append(id: id, token: token, offsets: nil, typeID: typeID) }
          out.append(run)
        }
      }
      return out
    }
  }
}
