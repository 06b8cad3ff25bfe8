import Foundation

/// The subset of Oniguruma regular expressions that `tokenizer.json` files use in `Replace`
/// and `Split` patterns (e.g. `" {2,}"`, `"\\s+"`, `"[\\p{P}\\s]"`), matched leftmost-first
/// with backtracking on Unicode scalars, as `tokenizers`' `SysRegex` (Oniguruma) matches them.
///
/// Supported: literals and escapes (`\n`, `\t`, `\.`, …), `.`, `\s \S \d \D \w \W`,
/// `\p{…}`/`\P{…}` for general categories (`L`, `Lu`, `N`, `P`, …), bracket sets with ranges
/// and negation, groups `(…)`, `(?:…)`, look-aheads `(?=…)`/`(?!…)`, alternation, the
/// quantifiers `? * + {n} {n,} {n,m}` (greedy, or lazy with a trailing `?`), and `^`/`$`.
/// Anything else is refused when the pattern is parsed.
struct SimpleRegex: Sendable {
  /// One element of a sequence, with its repetition bounds.
  struct Item: Sendable {
    var atom: Atom
    var min = 1
    var max = 1
    var lazy = false
  }

  /// What an item matches once.
  indirect enum Atom: Sendable {
    /// One scalar that the set accepts.
    case set(ScalarSet)
    /// A group of alternatives.
    case group([[Item]])
    /// A look-ahead (negative when `negated`).
    case lookahead([[Item]], negated: Bool)
    /// `^` (start of the text).
    case start
    /// `$` (end of the text).
    case end
  }

  /// A predicate on scalars: ranges and classes, possibly negated.
  struct ScalarSet: Sendable {
    var ranges: [ClosedRange<UInt32>] = []
    var classes: [ScalarClass] = []
    var negated = false

    /// Whether `c` is in the set.
    func contains(_ c: Unicode.Scalar) -> Bool {
      var found = false
      for r in ranges where r.contains(c.value) {
        found = true
        break
      }
      if !found {
        for k in classes where k.contains(c) {
          found = true
          break
        }
      }
      return found != negated
    }
  }

  /// A named class of scalars.
  enum ScalarClass: Sendable {
    case any, space, digit, word
    case category([Unicode.GeneralCategory])
    indirect case not(ScalarClass)

    /// Whether `c` is in the class.
    func contains(_ c: Unicode.Scalar) -> Bool {
      switch self {
      case .any: return c != "\n"
      case .space: return RustUnicode.isWhitespace(c)
      case .digit: return c.properties.generalCategory == .decimalNumber
      case .word:
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .nonspacingMark,
          .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation:
          return true
        default: return false
        }
      case .category(let list): return list.contains(c.properties.generalCategory)
      case .not(let inner): return !inner.contains(c)
      }
    }
  }

  /// The alternatives of the whole pattern.
  let alternatives: [[Item]]

  /// Parses `pattern`; throws a description of what is not supported.
  init(_ pattern: String) throws {
    var parser = Parser(scalars: Array(pattern.unicodeScalars))
    alternatives = try parser.alternation()
    guard parser.i == parser.scalars.count else { throw RegexError("unbalanced \")\"") }
  }

  /// Non-overlapping leftmost-first matches in `scalars[range]` (empty matches skipped).
  func matches(in scalars: [Unicode.Scalar], _ range: Range<Int>) -> [Range<Int>] {
    var out: [Range<Int>] = []
    var pos = range.lowerBound
    let matcher = Matcher(scalars: scalars, lower: range.lowerBound, upper: range.upperBound, budget: Budget())
    while pos < range.upperBound {
      if let end = matcher.alternation(alternatives, pos, { $0 }), end > pos {
        out.append(pos..<end)
        pos = end
      } else {
        pos += 1
      }
    }
    return out
  }

  /// A parse failure.
  struct RegexError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
  }

  /// Recursive-descent parser over the pattern's scalars.
  private struct Parser {
    let scalars: [Unicode.Scalar]
    var i = 0

    init(scalars: [Unicode.Scalar]) { self.scalars = scalars }

    var atEnd: Bool { i >= scalars.count }
    var peek: Unicode.Scalar? { atEnd ? nil : scalars[i] }

    mutating func alternation() throws -> [[Item]] {
      var alts: [[Item]] = [try sequence()]
      while peek == "|" {
        i += 1
        alts.append(try sequence())
      }
      return alts
    }

    mutating func sequence() throws -> [Item] {
      var items: [Item] = []
      while let c = peek, c != "|", c != ")" {
        var item = Item(atom: try atom())
        try quantifier(&item)
        items.append(item)
      }
      return items
    }

    mutating func atom() throws -> Atom {
      let c = scalars[i]
      i += 1
      switch c {
      case ".": return .set(ScalarSet(classes: [.any]))
      case "^": return .start
      case "$": return .end
      case "[": return .set(try bracket())
      case "(":
        var kind = 0  // 0 group, 1 look-ahead, 2 negative look-ahead
        if peek == "?" {
          guard i + 1 < scalars.count else { throw RegexError("unfinished group") }
          switch scalars[i + 1] {
          case ":": kind = 0
          case "=": kind = 1
          case "!": kind = 2
          default: throw RegexError("unsupported group (?\(scalars[i + 1])")
          }
          i += 2
        }
        let alts = try alternation()
        guard peek == ")" else { throw RegexError("missing \")\"") }
        i += 1
        return kind == 0 ? .group(alts) : .lookahead(alts, negated: kind == 2)
      case "\\": return .set(try escape(inBracket: false))
      case "*", "+", "?", "{": throw RegexError("quantifier \(c) with nothing to repeat")
      default: return .set(ScalarSet(ranges: [c.value...c.value]))
      }
    }

    mutating func escape(inBracket: Bool) throws -> ScalarSet {
      guard let c = peek else { throw RegexError("pattern ends with \\") }
      i += 1
      switch c {
      case "s": return ScalarSet(classes: [.space])
      case "S": return ScalarSet(classes: [.not(.space)])
      case "d": return ScalarSet(classes: [.digit])
      case "D": return ScalarSet(classes: [.not(.digit)])
      case "w": return ScalarSet(classes: [.word])
      case "W": return ScalarSet(classes: [.not(.word)])
      case "p", "P":
        guard peek == "{", let close = scalars[i...].firstIndex(of: "}") else {
          throw RegexError("\\\(c) needs {…}")
        }
        var name = String.UnicodeScalarView()
        name.append(contentsOf: scalars[(i + 1)..<close])
        i = close + 1
        guard let list = Self.categories[String(name)] else {
          throw RegexError("unsupported property \\\(c){\(String(name))}")
        }
        return ScalarSet(classes: [c == "p" ? .category(list) : .not(.category(list))])
      case "n": return ScalarSet(ranges: [0x0A...0x0A])
      case "t": return ScalarSet(ranges: [0x09...0x09])
      case "r": return ScalarSet(ranges: [0x0D...0x0D])
      case "f": return ScalarSet(ranges: [0x0C...0x0C])
      case "v": return ScalarSet(ranges: [0x0B...0x0B])
      default:
        if c.properties.isAlphabetic || ("0"..."9").contains(c) {
          throw RegexError("unsupported escape \\\(c)")
        }
        return ScalarSet(ranges: [c.value...c.value])
      }
    }

    mutating func bracket() throws -> ScalarSet {
      var set = ScalarSet()
      if peek == "^" {
        set.negated = true
        i += 1
      }
      var first = true
      while let c = peek, c != "]" || first {
        first = false
        i += 1
        var lowValue: UInt32
        if c == "\\" {
          let e = try escape(inBracket: true)
          if !e.classes.isEmpty || e.negated || e.ranges.count != 1 || e.ranges[0].count != 1 {
            set.classes.append(contentsOf: e.classes)
            set.ranges.append(contentsOf: e.ranges)
            continue
          }
          lowValue = e.ranges[0].lowerBound
        } else if c == "[" {
          throw RegexError("nested or POSIX bracket classes are not supported")
        } else {
          lowValue = c.value
        }
        if peek == "-", i + 1 < scalars.count, scalars[i + 1] != "]" {
          i += 1
          var high = scalars[i]
          i += 1
          if high == "\\" {
            let e = try escape(inBracket: true)
            guard e.classes.isEmpty, e.ranges.count == 1 else { throw RegexError("bad range in [...]") }
            high = Unicode.Scalar(e.ranges[0].lowerBound)!
          }
          guard lowValue <= high.value else { throw RegexError("reversed range in [...]") }
          set.ranges.append(lowValue...high.value)
        } else {
          set.ranges.append(lowValue...lowValue)
        }
      }
      guard peek == "]" else { throw RegexError("missing \"]\"") }
      i += 1
      return set
    }

    mutating func quantifier(_ item: inout Item) throws {
      guard let c = peek else { return }
      switch c {
      case "?": (item.min, item.max) = (0, 1)
      case "*": (item.min, item.max) = (0, Int.max)
      case "+": (item.min, item.max) = (1, Int.max)
      case "{":
        guard let close = scalars[i...].firstIndex(of: "}") else { return }
        var body = String.UnicodeScalarView()
        body.append(contentsOf: scalars[(i + 1)..<close])
        let parts = String(body).split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let low = Int(parts[0]), low <= 100_000 else {
          throw RegexError("unsupported quantifier {\(String(body))}")
        }
        var high = low
        if parts.count == 2 {
          if parts[1].isEmpty {
            high = Int.max
          } else {
            guard let h = Int(parts[1]), h >= low, h <= 100_000 else {
              throw RegexError("unsupported quantifier {\(String(body))}")
            }
            high = h
          }
        }
        (item.min, item.max) = (low, high)
        i = close
      default: return
      }
      i += 1
      if peek == "?" {
        item.lazy = true
        i += 1
      } else if peek == "+" {
        throw RegexError("possessive quantifiers are not supported")
      }
    }

    static let categories: [String: [Unicode.GeneralCategory]] = {
      let letters: [Unicode.GeneralCategory] = [
        .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
      ]
      let marks: [Unicode.GeneralCategory] = [.nonspacingMark, .spacingMark, .enclosingMark]
      let numbers: [Unicode.GeneralCategory] = [.decimalNumber, .letterNumber, .otherNumber]
      let punctuation: [Unicode.GeneralCategory] = [
        .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
        .finalPunctuation, .otherPunctuation,
      ]
      let symbols: [Unicode.GeneralCategory] = [.mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol]
      let separators: [Unicode.GeneralCategory] = [.spaceSeparator, .lineSeparator, .paragraphSeparator]
      let others: [Unicode.GeneralCategory] = [.control, .format, .surrogate, .privateUse, .unassigned]
      return [
        "L": letters, "Lu": [.uppercaseLetter], "Ll": [.lowercaseLetter], "Lt": [.titlecaseLetter],
        "Lm": [.modifierLetter], "Lo": [.otherLetter], "M": marks, "Mn": [.nonspacingMark], "Mc": [.spacingMark],
        "Me": [.enclosingMark], "N": numbers, "Nd": [.decimalNumber], "Nl": [.letterNumber], "No": [.otherNumber],
        "P": punctuation, "Pc": [.connectorPunctuation], "Pd": [.dashPunctuation], "Ps": [.openPunctuation],
        "Pe": [.closePunctuation], "Pi": [.initialPunctuation], "Pf": [.finalPunctuation], "Po": [.otherPunctuation],
        "S": symbols, "Sm": [.mathSymbol], "Sc": [.currencySymbol], "Sk": [.modifierSymbol], "So": [.otherSymbol],
        "Z": separators, "Zs": [.spaceSeparator], "Zl": [.lineSeparator], "Zp": [.paragraphSeparator], "C": others,
        "Cc": [.control], "Cf": [.format], "Co": [.privateUse], "Cn": [.unassigned],
      ]
    }()
  }

  /// Steps a search may take before it gives up (pathological backtracking).
  final class Budget {
    /// Steps left.
    var steps = 1_000_000
  }

  /// Backtracking matcher over one text.
  private struct Matcher {
    let scalars: [Unicode.Scalar]
    let lower: Int
    let upper: Int
    let budget: Budget

    /// The end of a match of one of `alts` at `pos` for which `k` succeeds.
    func alternation(_ alts: [[Item]], _ pos: Int, _ k: (Int) -> Int?) -> Int? {
      for alt in alts {
        if let r = sequence(alt, 0, pos, k) { return r }
      }
      return nil
    }

    func sequence(_ items: [Item], _ index: Int, _ pos: Int, _ k: (Int) -> Int?) -> Int? {
      if index == items.count { return k(pos) }
      budget.steps -= 1
      if budget.steps < 0 { return nil }
      let item = items[index]
      func next(_ p: Int) -> Int? { sequence(items, index + 1, p, k) }
      switch item.atom {
      case .set(let set):
        // Single scalars: count the run once, then try the lengths in order.
        var n = 0
        while n < item.max && pos + n < upper && set.contains(scalars[pos + n]) { n += 1 }
        guard n >= item.min else { return nil }
        if item.lazy {
          for count in item.min...n { if let r = next(pos + count) { return r } }
        } else {
          for count in stride(from: n, through: item.min, by: -1) { if let r = next(pos + count) { return r } }
        }
        return nil
      case .start:
        return pos == lower ? next(pos) : nil
      case .end:
        return pos == upper ? next(pos) : nil
      case .lookahead(let alts, let negated):
        let found = alternation(alts, pos, { $0 }) != nil
        return found != negated ? next(pos) : nil
      case .group(let alts):
        return repeatGroup(alts, item, 0, pos, next)
      }
    }

    func repeatGroup(_ alts: [[Item]], _ item: Item, _ count: Int, _ pos: Int, _ k: (Int) -> Int?) -> Int? {
      func more() -> Int? {
        guard count < item.max else { return nil }
        return alternation(alts, pos) { p in
          p == pos ? nil : repeatGroup(alts, item, count + 1, p, k)
        }
      }
      if item.lazy {
        if count >= item.min, let r = k(pos) { return r }
        return more()
      }
      if let r = more() { return r }
      return count >= item.min ? k(pos) : nil
    }
  }
}
