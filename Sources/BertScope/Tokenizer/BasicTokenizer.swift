import Foundation

/// Normalised scalars, each with the range of source scalars (Python `str` indices) it came from.
struct AlignedScalars {
  var scalars: [Unicode.Scalar] = []
  var starts: [Int] = []
  var ends: [Int] = []

  var count: Int { scalars.count }

  @inline(__always)
  mutating func append(_ scalar: Unicode.Scalar, _ start: Int, _ end: Int) {
    scalars.append(scalar)
    starts.append(start)
    ends.append(end)
  }

  mutating func removeAll() {
    scalars.removeAll(keepingCapacity: true)
    starts.removeAll(keepingCapacity: true)
    ends.removeAll(keepingCapacity: true)
  }

  /// The source range covered by elements `range` (nil when empty).
  func sourceRange(_ range: Range<Int>) -> Range<Int>? {
    guard !range.isEmpty else { return nil }
    var lower = starts[range.lowerBound]
    var upper = ends[range.lowerBound]
    for k in range.dropFirst() {
      lower = min(lower, starts[k])
      upper = max(upper, ends[k])
    }
    return lower..<upper
  }
}

/// Hugging Face's `BasicTokenizer` (transformers `tokenization_bert_legacy.py`): cleans the text,
/// isolates CJK ideographs, splits on whitespace, then per whitespace token: NFC (only when
/// accents are kept), `str.lower()`, accent stripping (NFD, drop Mn), and a split around every
/// punctuation character. Every output scalar keeps the source range it came from.
///
/// Holds its scratch buffers: make one per thread and reuse it across texts.
struct BasicTokenizer {
  let lowercase: Bool
  let stripAccents: Bool
  let tokenizeChineseChars: Bool

  /// Output: the scalars of all pre-tokens, back to back.
  var pieces = AlignedScalars()
  /// Output: each pre-token (a WordPiece input) as a range into `pieces`.
  var pieceRanges: [Range<Int>] = []

  private var word = AlignedScalars()
  private var next = AlignedScalars()
  private var wordIsASCII = true
  private var pieceStart = 0
  private var classes: [UInt8] = []

  init(options: TokenizerOptions) {
    lowercase = options.lowercase
    stripAccents = options.stripAccents ?? options.lowercase
    tokenizeChineseChars = options.tokenizeChineseChars
  }

  mutating func reset() {
    pieces.removeAll()
    pieceRanges.removeAll(keepingCapacity: true)
    pieceStart = 0
  }

  /// Appends the pre-tokens of `text[range]` to `pieces` / `pieceRanges`; source index = index in
  /// `text`. Stops after a word once `pieces` holds `limit` scalars, so that long texts are
  /// processed in bounded memory, and returns where to resume (`range.upperBound` when done).
  mutating func split(_ text: [Unicode.Scalar], _ range: Range<Int>, limit: Int = .max) -> Int {
    for i in range {
      if pieces.count >= limit && word.count == 0 { return i }
      let scalar = text[i]
      let v = scalar.value
      if v < 0x80 {
        switch PythonUnicode.asciiClass[Int(v)] {
        case .letterOrDigit, .punctuation: word.append(scalar, i, i + 1)
        case .whitespace: flushWord()
        case .control: continue
        }
        continue
      }
      if v == 0xFFFD { continue }
      let category = PythonUnicode.category(scalar)
      if PythonUnicode.isControl(category) { continue }
      // Zs is HF whitespace; U+2028/2029 survive cleaning but Python's str.split() splits on them.
      if category == .spaceSeparator || v == 0x2028 || v == 0x2029 {
        flushWord()
        continue
      }
      if tokenizeChineseChars && PythonUnicode.isChineseChar(v) {
        flushWord()
        word.append(scalar, i, i + 1)
        wordIsASCII = false
        flushWord()
        continue
      }
      word.append(scalar, i, i + 1)
      wordIsASCII = false
    }
    flushWord()
    return range.upperBound
  }

  private mutating func flushWord() {
    guard word.count > 0 else { return }
    if wordIsASCII {
      for k in 0..<word.count {
        var scalar = word.scalars[k]
        if lowercase, scalar.value &- 65 < 26 { scalar = Unicode.Scalar(UInt8(scalar.value + 32)) }
        emit(scalar, word.starts[k], word.ends[k])
      }
    } else {
      if !stripAccents { composeNFC() }
      if lowercase { lowerCase() }
      if stripAccents { decomposeAndStripMarks() }
      for k in 0..<word.count { emit(word.scalars[k], word.starts[k], word.ends[k]) }
    }
    endPiece()
    word.removeAll()
    wordIsASCII = true
  }

  @inline(__always)
  private mutating func emit(_ scalar: Unicode.Scalar, _ start: Int, _ end: Int) {
    if PythonUnicode.isPunctuation(scalar) {
      endPiece()
      pieces.append(scalar, start, end)
      endPiece()
    } else {
      pieces.append(scalar, start, end)
    }
  }

  @inline(__always)
  private mutating func endPiece() {
    if pieces.count > pieceStart { pieceRanges.append(pieceStart..<pieces.count) }
    pieceStart = pieces.count
  }

  /// Python's `str.lower()`: full lower-case mappings (İ → i̇) and the Final_Sigma rule.
  private mutating func lowerCase() {
    next.removeAll()
    for k in 0..<word.count {
      let scalar = word.scalars[k]
      let v = scalar.value
      if v < 0x80 {
        next.append(v &- 65 < 26 ? Unicode.Scalar(UInt8(v + 32)) : scalar, word.starts[k], word.ends[k])
      } else if v == 0x03A3 {
        next.append(isFinalSigma(at: k) ? "\u{03C2}" : "\u{03C3}", word.starts[k], word.ends[k])
      } else {
        for mapped in scalar.properties.lowercaseMapping.unicodeScalars {
          next.append(mapped, word.starts[k], word.ends[k])
        }
      }
    }
    swap(&word, &next)
  }

  /// CPython's `handle_capital_sigma`: Σ is final when preceded by a cased scalar and not
  /// followed by one (case-ignorable scalars skipped both ways), within the whitespace token.
  private func isFinalSigma(at index: Int) -> Bool {
    var j = index - 1
    while j >= 0 && PythonUnicode.isCaseIgnorable(word.scalars[j]) { j -= 1 }
    guard j >= 0 && PythonUnicode.isCased(word.scalars[j]) else { return false }
    j = index + 1
    while j < word.count && PythonUnicode.isCaseIgnorable(word.scalars[j]) { j += 1 }
    return j == word.count || !PythonUnicode.isCased(word.scalars[j])
  }

  /// `_run_strip_accents`: NFD (full decomposition, canonical ordering), then drop category Mn.
  private mutating func decomposeAndStripMarks() {
    next.removeAll()
    for k in 0..<word.count {
      let added = PythonUnicode.appendDecomposition(of: word.scalars[k], to: &next.scalars)
      for _ in 0..<added {
        next.starts.append(word.starts[k])
        next.ends.append(word.ends[k])
      }
    }
    // Marks (and every scalar with a nonzero combining class) are at U+0300 or above.
    if next.scalars.contains(where: { $0.value >= 0x300 }) {
      canonicallyOrder(&next)
      var kept = 0
      for k in 0..<next.count {
        let scalar = next.scalars[k]
        if scalar.value >= 0x300 && PythonUnicode.category(scalar) == .nonspacingMark { continue }
        next.scalars[kept] = scalar
        next.starts[kept] = next.starts[k]
        next.ends[kept] = next.ends[k]
        kept += 1
      }
      next.scalars.removeLast(next.count - kept)
      next.starts.removeLast(next.starts.count - kept)
      next.ends.removeLast(next.ends.count - kept)
    }
    swap(&word, &next)
  }

  /// Canonical ordering: a stable sort by combining class of every run of non-starters.
  private func canonicallyOrder(_ text: inout AlignedScalars) {
    var k = 0
    while k < text.count {
      guard combiningClass(text.scalars[k]) != 0 else {
        k += 1
        continue
      }
      var end = k + 1
      while end < text.count && combiningClass(text.scalars[end]) != 0 { end += 1 }
      if end - k > 1 {
        // Insertion sort: runs are a handful of marks.
        for a in (k + 1)..<end {
          var b = a
          while b > k && combiningClass(text.scalars[b - 1]) > combiningClass(text.scalars[b]) {
            text.scalars.swapAt(b - 1, b)
            text.starts.swapAt(b - 1, b)
            text.ends.swapAt(b - 1, b)
            b -= 1
          }
        }
      }
      k = end
    }
  }

  @inline(__always)
  private func combiningClass(_ scalar: Unicode.Scalar) -> UInt8 {
    scalar.value < 0x300 ? 0 : scalar.properties.canonicalCombiningClass.rawValue
  }

  /// `unicodedata.normalize("NFC", …)` of the word, for tokenizers that keep accents. Scalars that
  /// compose take the union of their source ranges. Rare (only words not already in NFC), so
  /// it leans on Foundation rather than composition tables.
  private mutating func composeNFC() {
    let whole = nfc(0..<word.count)
    if whole.elementsEqual(word.scalars) { return }
    next.removeAll()
    // Chunks start at starters; adjacent chunks merge while composition crosses their boundary.
    var boundaries = [0]
    for k in 1..<word.count where combiningClass(word.scalars[k]) == 0 { boundaries.append(k) }
    boundaries.append(word.count)
    var current = boundaries[0]..<boundaries[1]
    var currentNFC = nfc(current)
    for b in 1..<(boundaries.count - 1) {
      let segment = boundaries[b]..<boundaries[b + 1]
      let segmentNFC = nfc(segment)
      let joined = nfc(current.lowerBound..<segment.upperBound)
      if joined == currentNFC + segmentNFC {
        appendChunk(currentNFC, covering: current)
        current = segment
        currentNFC = segmentNFC
      } else {
        current = current.lowerBound..<segment.upperBound
        currentNFC = joined
      }
    }
    appendChunk(currentNFC, covering: current)
    if next.scalars != whole {
      // Never expected; keep the exact scalars with the word's whole range rather than trap.
      let range = word.sourceRange(0..<word.count)!
      next.removeAll()
      for scalar in whole { next.append(scalar, range.lowerBound, range.upperBound) }
    }
    swap(&word, &next)
  }

  private mutating func appendChunk(_ scalars: [Unicode.Scalar], covering chunk: Range<Int>) {
    guard let range = word.sourceRange(chunk) else { return }
    for scalar in scalars { next.append(scalar, range.lowerBound, range.upperBound) }
  }

  private func nfc(_ range: Range<Int>) -> [Unicode.Scalar] {
    var text = String()
    text.unicodeScalars.append(contentsOf: word.scalars[range])
    return Array(text.precomposedStringWithCanonicalMapping.unicodeScalars)
  }
}
