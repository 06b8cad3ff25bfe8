import Foundation

/// Text being normalised and pre-tokenised, as `tokenizers`' `NormalizedString` keeps it: the
/// current scalars, each with the range of source scalars (Python `str` indices of the input)
/// it came from, and the text cut into pieces (pre-tokens or added tokens) back to back.
///
/// `tokenizers` aligns bytes; every byte of a character there carries the same range, so one
/// range per scalar says the same. Every transformation follows `NormalizedString::transform`:
/// a new scalar either replaces the next source scalar of its piece (and takes its range) or is
/// inserted (and takes the range of the scalar before it, or the empty range at the piece's
/// original start when there is none).
struct AlignedText {
  /// The current scalars of all pieces.
  var scalars: [Unicode.Scalar] = []
  /// Per scalar: the first source scalar it came from.
  var starts: [Int32] = []
  /// Per scalar: one past the last source scalar it came from.
  var ends: [Int32] = []
  /// The pieces, in order, each a range of `scalars`.
  var pieces: [TextPiece] = []

  /// Number of scalars.
  var count: Int { scalars.count }

  /// Empties the text, keeping its buffers.
  mutating func removeAll() {
    scalars.removeAll(keepingCapacity: true)
    starts.removeAll(keepingCapacity: true)
    ends.removeAll(keepingCapacity: true)
    pieces.removeAll(keepingCapacity: true)
  }

  /// Sets the text to `source`, unchanged, as one piece (none when `source` is empty).
  mutating func reset(to source: [Unicode.Scalar]) {
    removeAll()
    scalars.append(contentsOf: source)
    starts.reserveCapacity(source.count)
    ends.reserveCapacity(source.count)
    for i in 0..<source.count {
      starts.append(Int32(i))
      ends.append(Int32(i + 1))
    }
    if !source.isEmpty { pieces.append(TextPiece(range: 0..<source.count, shift: 0, token: nil)) }
  }

  /// Appends one scalar with its source range.
  @inline(__always)
  mutating func append(_ scalar: Unicode.Scalar, _ start: Int32, _ end: Int32) {
    scalars.append(scalar)
    starts.append(start)
    ends.append(end)
  }

  /// Appends scalars `range` of `other` with their source ranges.
  mutating func append(from other: AlignedText, _ range: Range<Int>) {
    scalars.append(contentsOf: other.scalars[range])
    starts.append(contentsOf: other.starts[range])
    ends.append(contentsOf: other.ends[range])
  }

  /// The source range of scalars `range` (`tokenizers`' `expand_alignments`: the start of the
  /// first, the end of the last).
  func sourceRange(_ range: Range<Int>) -> Range<Int> {
    guard !range.isEmpty else { return 0..<0 }
    let lower = Int(starts[range.lowerBound])
    let upper = Int(ends[range.upperBound - 1])
    return lower..<max(lower, upper)
  }

  /// Appends the sub-piece `range` of `piece` (a range inside it) as a new piece of `out`,
  /// as `NormalizedString::slice` does; empty ranges are dropped, as `PreTokenizedString::split`
  /// drops empty splits.
  func appendSlice(_ range: Range<Int>, token: Int32? = nil, into out: inout AlignedText) {
    guard !range.isEmpty else { return }
    let start = out.count
    out.append(from: self, range)
    out.pieces.append(TextPiece(range: start..<out.count, shift: Int(starts[range.lowerBound]), token: token))
  }
}

/// One piece of an ``AlignedText``: a pre-token, or an added token already matched.
struct TextPiece: Sendable, Equatable {
  /// Its scalars in the text.
  var range: Range<Int>
  /// Where it starts in the source (`NormalizedString::offsets_original().0`); scalars inserted
  /// at its very start align to the empty range here.
  var shift: Int
  /// The added token it is, or nil for text still to tokenize.
  var token: Int32?
}

/// Writes one piece transformed, with `NormalizedString::transform`'s alignment rule: each
/// scalar emitted with `change` 0 replaces the next source scalar, `change` n < 0 also drops the
/// n following ones, `change` > 0 inserts.
struct PieceWriter {
  /// The next source scalar (index into the source text).
  private(set) var offset: Int
  private let lower: Int
  private let shift: Int32
  private let outStart: Int

  /// Starts writing piece `piece` of a source text into `out`, skipping its first
  /// `initialOffset` scalars (they are removed).
  init(piece: TextPiece, initialOffset: Int = 0, out: AlignedText) {
    lower = piece.range.lowerBound
    offset = piece.range.lowerBound + initialOffset
    shift = Int32(piece.shift)
    outStart = out.count
  }

  /// Emits `scalar` per `change`.
  @inline(__always)
  mutating func emit(_ scalar: Unicode.Scalar, change: Int, from source: AlignedText, into out: inout AlignedText) {
    if change > 0 {
      if offset > lower {
        out.append(scalar, source.starts[offset - 1], source.ends[offset - 1])
      } else {
        out.append(scalar, shift, shift)
      }
    } else {
      out.append(scalar, source.starts[offset], source.ends[offset])
      offset += 1 - change
    }
  }

  /// Copies the next source scalar unchanged (`change` 0 with itself).
  @inline(__always)
  mutating func keep(from source: AlignedText, into out: inout AlignedText) {
    out.append(source.scalars[offset], source.starts[offset], source.ends[offset])
    offset += 1
  }

  /// Skips the next `n` source scalars.
  @inline(__always)
  mutating func skip(_ n: Int) { offset += n }

  /// Ends the piece: appends it to `out.pieces` when it is not empty.
  func finish(_ piece: TextPiece, into out: inout AlignedText) {
    guard out.count > outStart else { return }
    out.pieces.append(TextPiece(range: outStart..<out.count, shift: piece.shift, token: piece.token))
  }
}
