import Foundation

/// What `NormalizedString::split` does with the matches of a pattern.
enum SplitBehavior: String, Sendable {
  /// Matches are dropped.
  case removed = "Removed"
  /// Each match is a piece of its own.
  case isolated = "Isolated"
  /// A match joins the piece before it.
  case mergedWithPrevious = "MergedWithPrevious"
  /// A match joins the piece after it.
  case mergedWithNext = "MergedWithNext"
  /// Consecutive matches form one piece.
  case contiguous = "Contiguous"

  /// Parses a `"behavior"` string.
  static func parse(_ node: JSONNode) throws -> SplitBehavior {
    let s = try node.string()
    guard let b = SplitBehavior(rawValue: s) else {
      throw node.error(
        "unknown split behavior \"\(printable(s))\" (one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous)"
      )
    }
    return b
  }
}

/// When Metaspace puts its replacement character before a piece.
enum PrependScheme: String, Sendable {
  /// Before every piece that does not start with it.
  case always
  /// Only before the piece at the start of the text.
  case first
  /// Never.
  case never
}

/// A `pre_tokenizer` of `tokenizer.json`: cuts text pieces into pre-tokens (words).
indirect enum PreTokenizer: Sendable {
  /// `BertPreTokenizer`: split on whitespace (dropped), then around every punctuation character.
  case bert
  /// `ByteLevel`: optional leading space, the GPT-2 regex, then GPT-2's byte characters.
  case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
  /// `Whitespace`: `\w+|[^\w\s]+`.
  case whitespace
  /// `WhitespaceSplit`: split on whitespace.
  case whitespaceSplit
  /// `Metaspace`: spaces become `replacement`, prepended per `prependScheme`, split before each.
  case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme, split: Bool)
  /// `Punctuation`: split around punctuation per `behavior`.
  case punctuation(SplitBehavior)
  /// `Digits`: digits apart, one by one or in runs.
  case digits(individual: Bool)
  /// `Split` on the matches of a pattern.
  case split(pattern: TextPattern, behavior: SplitBehavior, invert: Bool)
  /// `CharDelimiterSplit`: split on one character (dropped).
  case charDelimiter(Unicode.Scalar)
  /// `Sequence`: each in turn.
  case sequence([PreTokenizer])

  /// The supported `"type"`s.
  static let supportedTypes = [
    "BertPreTokenizer", "ByteLevel", "Whitespace", "WhitespaceSplit", "Metaspace", "Punctuation", "Digits", "Split",
    "CharDelimiterSplit", "Sequence",
  ]

  /// Parses a pre-tokenizer object.
  static func parse(_ node: JSONNode) throws -> PreTokenizer {
    let type = try node.type()
    switch type {
    case "BertPreTokenizer": return .bert
    case "ByteLevel":
      return .byteLevel(
        addPrefixSpace: try node.bool("add_prefix_space", default: true),
        useRegex: try node.bool("use_regex", default: true))
    case "Whitespace": return .whitespace
    case "WhitespaceSplit": return .whitespaceSplit
    case "Metaspace":
      let replacementNode = try node.required("replacement")
      let replacement = Array(try replacementNode.string().unicodeScalars)
      guard replacement.count == 1 else { throw replacementNode.error("expected one character") }
      var scheme = PrependScheme.always
      let declared = try node.member("prepend_scheme")
      if let s = declared {
        guard let value = PrependScheme(rawValue: try s.string()) else {
          throw s.error("expected \"always\", \"first\" or \"never\"")
        }
        scheme = value
      }
      if let add = try node.member("add_prefix_space"), try !add.bool() {
        guard scheme == .never || declared == nil else {
          throw add.error("add_prefix_space does not match declared prepend_scheme")
        }
        scheme = .never
      }
      return .metaspace(
        replacement: replacement[0], prependScheme: scheme, split: try node.bool("split", default: true))
    case "Punctuation":
      return .punctuation(try node.member("behavior").map(SplitBehavior.parse) ?? .isolated)
    case "Digits":
      return .digits(individual: try node.bool("individual_digits", default: false))
    case "Split":
      let patternNode = try node.required("pattern")
      let behavior = try SplitBehavior.parse(try node.required("behavior"))
      let invert = try node.bool("invert", default: false)
      return .split(pattern: try TextPattern.parse(patternNode), behavior: behavior, invert: invert)
    case "CharDelimiterSplit":
      let d = try node.required("delimiter")
      let scalars = Array(try d.string().unicodeScalars)
      guard scalars.count == 1 else { throw d.error("expected one character") }
      return .charDelimiter(scalars[0])
    case "Sequence":
      return .sequence(try node.required("pretokenizers").array().map(parse))
    default:
      throw node.unsupported("pre-tokenizer", type, supported: supportedTypes)
    }
  }

  /// Short name for summaries.
  var name: String {
    switch self {
    case .bert: "BertPreTokenizer"
    case .byteLevel: "ByteLevel"
    case .whitespace: "Whitespace"
    case .whitespaceSplit: "WhitespaceSplit"
    case .metaspace: "Metaspace"
    case .punctuation: "Punctuation"
    case .digits: "Digits"
    case .split: "Split"
    case .charDelimiter: "CharDelimiterSplit"
    case .sequence(let steps): "Sequence[" + steps.map(\.name).joined(separator: ", ") + "]"
    }
  }

  /// Pre-tokenises every text piece of `input` (added tokens are copied) into a new text.
  func apply(_ input: AlignedText) -> AlignedText {
    switch self {
    case .sequence(let steps):
      var text = input
      for step in steps { text = step.apply(text) }
      return text
    case .bert:
      // Whitespace split (removed), then punctuation (isolated), in one pass.
      var out = AlignedText()
      out.scalars.reserveCapacity(input.count)
      out.starts.reserveCapacity(input.count)
      out.ends.reserveCapacity(input.count)
      for piece in input.pieces {
        if piece.token != nil {
          input.copyPiece(piece, into: &out)
          continue
        }
        var wordStart = piece.range.lowerBound
        for i in piece.range {
          let c = input.scalars[i]
          if RustUnicode.isWhitespace(c) {
            input.appendSlice(wordStart..<i, into: &out)
            wordStart = i + 1
          } else if RustUnicode.isPunctuation(c) {
            input.appendSlice(wordStart..<i, into: &out)
            input.appendSlice(i..<(i + 1), into: &out)
            wordStart = i + 1
          }
        }
        input.appendSlice(wordStart..<piece.range.upperBound, into: &out)
      }
      return out
    case .whitespace:
      return input.splitPieces(.removed) { $0.matchWhitespaceRegex(piece: $1, into: &$2) }
    case .whitespaceSplit:
      return input.splitPieces(.removed) { $0.matchEach(RustUnicode.isWhitespace, piece: $1, into: &$2) }
    case .punctuation(let behavior):
      return input.splitPieces(behavior) { $0.matchEach(RustUnicode.isPunctuation, piece: $1, into: &$2) }
    case .digits(let individual):
      return input.splitPieces(individual ? .isolated : .contiguous) {
        $0.matchEach(RustUnicode.isNumeric, piece: $1, into: &$2)
      }
    case .charDelimiter(let d):
      return input.splitPieces(.removed) { $0.matchEach({ $0 == d }, piece: $1, into: &$2) }
    case .split(let pattern, let behavior, let invert):
      return input.splitPieces(behavior) { text, piece, matches in
        var last = piece.range.lowerBound
        for m in pattern.matches(in: text, piece.range) {
          if last < m.lowerBound { matches.append(PatternMatch(range: last..<m.lowerBound, isMatch: false)) }
          matches.append(PatternMatch(range: m, isMatch: true))
          last = m.upperBound
        }
        if last < piece.range.upperBound {
          matches.append(PatternMatch(range: last..<piece.range.upperBound, isMatch: false))
        }
        if invert { for k in matches.indices { matches[k].isMatch.toggle() } }
      }
    case .metaspace(let replacement, let scheme, let split):
      // Spaces become the replacement (each keeps its range), then the replacement is
      // prepended (taking the range of the first scalar), as `replace` then `prepend` align them.
      let replaced = input.mapText { text, piece, out in
        let lower = piece.range.lowerBound
        let first = text.scalars[lower] == " " ? replacement : text.scalars[lower]
        let prepend: Bool
        switch scheme {
        case .always: prepend = first != replacement
        case .first: prepend = first != replacement && piece.shift == 0
        case .never: prepend = false
        }
        let start = out.count
        if prepend { out.append(replacement, text.starts[lower], text.ends[lower]) }
        for i in piece.range {
          let c = text.scalars[i]
          out.append(c == " " ? replacement : c, text.starts[i], text.ends[i])
        }
        out.pieces.append(TextPiece(range: start..<out.count, shift: piece.shift, token: nil))
      }
      guard split else { return replaced }
      return replaced.splitPieces(.mergedWithNext) { $0.matchEach({ $0 == replacement }, piece: $1, into: &$2) }
    case .byteLevel(let addPrefixSpace, let useRegex):
      var text = input
      if addPrefixSpace {
        text = text.mapText { text, piece, out in
          if text.scalars[piece.range.lowerBound] == " " {
            text.copyPiece(piece, into: &out)
          } else {
            TextNormalizer.prepend([" "]).applyPiece(piece, of: text, into: &out)
          }
        }
      }
      if useRegex {
        text = text.splitPieces(.isolated) { $0.matchGPT2(piece: $1, into: &$2) }
      }
      return text.mapText { $0.byteMapped(piece: $1, into: &$2) }
    }
  }
}

extension TextNormalizer {
  /// Normalises one piece of `input` (a single-step normaliser) into `out`.
  func applyPiece(_ piece: TextPiece, of input: AlignedText, into out: inout AlignedText) {
    var one = AlignedText()
    input.copyPiece(piece, into: &one)
    out.appendPieces(of: apply(one))
  }
}

/// One run of a piece as a pattern sees it: a match or the text between matches.
struct PatternMatch {
  /// Scalars of the text.
  var range: Range<Int>
  /// Whether the pattern matched here.
  var isMatch: Bool
}

extension AlignedText {
  /// Splits every text piece by the matches `find` reports, per `behavior`
  /// (`NormalizedString::split`); added tokens are copied.
  func splitPieces(
    _ behavior: SplitBehavior, find: (AlignedText, TextPiece, inout [PatternMatch]) -> Void
  ) -> AlignedText {
    var out = AlignedText()
    out.scalars.reserveCapacity(count)
    out.starts.reserveCapacity(count)
    out.ends.reserveCapacity(count)
    var matches: [PatternMatch] = []
    var merged: [PatternMatch] = []
    for piece in pieces {
      if piece.token != nil {
        copyPiece(piece, into: &out)
        continue
      }
      matches.removeAll(keepingCapacity: true)
      find(self, piece, &matches)
      merged.removeAll(keepingCapacity: true)
      switch behavior {
      case .isolated, .removed:
        swap(&merged, &matches)
      case .contiguous:
        var previous = false
        for m in matches {
          if m.isMatch == previous, !merged.isEmpty {
            merged[merged.count - 1].range = merged[merged.count - 1].range.lowerBound..<m.range.upperBound
          } else {
            merged.append(PatternMatch(range: m.range, isMatch: false))
          }
          previous = m.isMatch
        }
      case .mergedWithPrevious:
        var previous = false
        for m in matches {
          if m.isMatch && !previous, !merged.isEmpty {
            merged[merged.count - 1].range = merged[merged.count - 1].range.lowerBound..<m.range.upperBound
          } else {
            merged.append(PatternMatch(range: m.range, isMatch: false))
          }
          previous = m.isMatch
        }
      case .mergedWithNext:
        var previous = false
        for m in matches.reversed() {
          if m.isMatch && !previous, !merged.isEmpty {
            merged[merged.count - 1].range = m.range.lowerBound..<merged[merged.count - 1].range.upperBound
          } else {
            merged.append(PatternMatch(range: m.range, isMatch: false))
          }
          previous = m.isMatch
        }
        merged.reverse()
      }
      for m in merged where !(behavior == .removed && m.isMatch) {
        appendSlice(m.range, into: &out)
      }
    }
    return out
  }

  /// Each scalar `test` accepts is a match of its own (a `Fn(char) -> bool` pattern).
  func matchEach(_ test: (Unicode.Scalar) -> Bool, piece: TextPiece, into matches: inout [PatternMatch]) {
    var last = piece.range.lowerBound
    for i in piece.range where test(scalars[i]) {
      if last < i { matches.append(PatternMatch(range: last..<i, isMatch: false)) }
      matches.append(PatternMatch(range: i..<(i + 1), isMatch: true))
      last = i + 1
    }
    if last < piece.range.upperBound {
      matches.append(PatternMatch(range: last..<piece.range.upperBound, isMatch: false))
    }
  }

  /// The Whitespace pre-tokenizer's `\w+|[^\w\s]+`, inverted and removed: the runs of word
  /// characters and of other non-space characters are kept (reported as non-matches).
  func matchWhitespaceRegex(piece: TextPiece, into matches: inout [PatternMatch]) {
    let end = piece.range.upperBound
    var i = piece.range.lowerBound
    var gapStart = i
    while i < end {
      let c = scalars[i]
      if RustUnicode.isWhitespace(c) {
        i += 1
        continue
      }
      let word = RustUnicode.isWord(c)
      var j = i + 1
      while j < end {
        let d = scalars[j]
        if RustUnicode.isWhitespace(d) || RustUnicode.isWord(d) != word { break }
        j += 1
      }
      if gapStart < i { matches.append(PatternMatch(range: gapStart..<i, isMatch: true)) }
      matches.append(PatternMatch(range: i..<j, isMatch: false))
      i = j
      gapStart = j
    }
    if gapStart < end { matches.append(PatternMatch(range: gapStart..<end, isMatch: true)) }
  }

  /// The GPT-2 regex `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
  /// leftmost-first as Oniguruma runs it; every scalar is in some match.
  func matchGPT2(piece: TextPiece, into matches: inout [PatternMatch]) {
    let end = piece.range.upperBound
    var i = piece.range.lowerBound
    @inline(__always) func isOther(_ c: Unicode.Scalar) -> Bool {
      !RustUnicode.isWhitespace(c) && !RustUnicode.isLetter(c) && !RustUnicode.isNumeric(c)
    }
    @inline(__always) func isNumber(_ c: Unicode.Scalar) -> Bool { RustUnicode.isNumeric(c) }
    while i < end {
      let c = scalars[i]
      var j = i
      if c == "'" && i + 1 < end {
        let n = scalars[i + 1]
        if n == "s" || n == "t" || n == "m" || n == "d" {
          j = i + 2
        } else if i + 2 < end {
          let m = scalars[i + 2]
          if (n == "r" && m == "e") || (n == "v" && m == "e") || (n == "l" && m == "l") { j = i + 3 }
        }
      }
      if j == i {
        let k = c == " " ? i + 1 : i
        if k < end {
          let d = scalars[k]
          var test: ((Unicode.Scalar) -> Bool)? = nil
          if RustUnicode.isLetter(d) {
            test = RustUnicode.isLetter
          } else if isNumber(d) {
            test = isNumber
          } else if isOther(d) {
            test = isOther
          }
          if let test {
            j = k + 1
            while j < end && test(scalars[j]) { j += 1 }
          }
        }
      }
      if j == i {
        // c is whitespace: `\s+(?!\S)` then `\s+`.
        var k = i + 1
        while k < end && RustUnicode.isWhitespace(scalars[k]) { k += 1 }
        if k == end || k - i == 1 {
          j = k
        } else {
          j = k - 1
        }
      }
      matches.append(PatternMatch(range: i..<j, isMatch: true))
      i = j
    }
  }
}
