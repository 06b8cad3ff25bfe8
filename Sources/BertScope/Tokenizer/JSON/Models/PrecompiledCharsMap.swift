import Foundation

/// The `precompiled_charsmap` of a `"Precompiled"` normaliser (SentencePiece's compiled
/// normalisation rules, e.g. `nmt_nfkc`), applied as `tokenizers`' `Precompiled` normaliser
/// (crate `spm_precompiled` 0.1.4 and `tokenizers/src/normalizers/precompiled.rs`).
///
/// Format: a little-endian `UInt32` with the trie's size in bytes, the Darts-clone double-array
/// trie (that many bytes ÷ 4 little-endian `UInt32` units), then the replacement strings, each
/// ended by NUL. A trie leaf's value is the byte offset of its replacement.
///
/// Normalising walks extended grapheme clusters (Swift `Character`s, as the
/// `unicode-segmentation` crate's `graphemes(true)`): a cluster shorter than 6 UTF-8 bytes that
/// the trie matches is replaced as a whole; otherwise each scalar that it matches is replaced,
/// the others kept. "Matches" is `tokenizers`' rule: the *shortest* prefix of the key's bytes
/// that ends on a trie leaf gives the replacement (so a cluster whose first scalar has an entry
/// is replaced by that entry alone), and a NUL byte ends the key.
///
/// Alignments (``transform(_:)``): `tokenizers` turns each replacement into (scalar, change)
/// pairs (the replacement's scalars with change 0; if it is longer than what it replaces, its
/// last extra scalars get +1; if shorter, the last scalar emitted so far — possibly from an
/// earlier cluster — gets the difference, negative) and applies them with
/// `NormalizedString::transform`: a cursor runs over the input; a scalar with change ≤ 0 takes
/// the alignment of the input scalar at the cursor and moves it on by 1 + |change|; a scalar
/// with change +1 takes the alignment of the scalar before the cursor (an empty alignment at 0
/// when there is none) and does not move it.
struct PrecompiledCharsMap: Sendable {
  private let units: [UInt32]
  private let normalized: [UInt8]

  /// Decodes the base64 `precompiled_charsmap` of `tokenizer.json`.
  init(base64: String, path: String) throws {
    guard let data = Data(base64Encoded: base64) else {
      throw BertScopeError.badModelFile(
        path: path, problem: "Precompiled normalizer: precompiled_charsmap is not base64")
    }
    try self.init(bytes: [UInt8](data), path: path)
  }

  /// Reads the binary charsmap.
  init(bytes: [UInt8], path: String) throws {
    func fail(_ problem: String) -> BertScopeError {
      .badModelFile(path: path, problem: "Precompiled normalizer: precompiled_charsmap \(problem)")
    }
    guard bytes.count >= 4 else { throw fail("has \(bytes.count) bytes, too few for its header") }
    func le32(_ at: Int) -> UInt32 {
      UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }
    let trieBytes = Int(le32(0))
    let unitCount = trieBytes / 4
    guard unitCount <= (bytes.count - 4) / 4 else {
      throw fail("announces a \(trieBytes)-byte trie but has \(bytes.count - 4) bytes after its header")
    }
    units = (0..<unitCount).map { le32(4 + 4 * $0) }
    let blob = Array(bytes[(4 + 4 * unitCount)...])
    guard String(validating: blob, as: UTF8.self) != nil else {
      throw fail("has replacement strings that are not UTF-8")
    }
    normalized = blob
  }

  /// Number of trie units.
  var trieUnitCount: Int { units.count }

  /// The replacement of `key` (UTF-8 bytes), as `Precompiled::transform`: the one of the
  /// shortest prefix ending on a leaf; nil when none (or when the trie is malformed there).
  func replacement(_ key: some Sequence<UInt8>) -> ArraySlice<UInt8>? {
    guard !units.isEmpty else { return nil }
    @inline(__always) func offset(_ unit: UInt32) -> Int {
      Int((unit >> 10) << ((unit & (1 << 9)) >> 6))
    }
    var pos = offset(units[0])
    for c in key {
      if c == 0 { break }
      pos ^= Int(c)
      guard pos < units.count else { return nil }
      let unit = units[pos]
      if unit & ((1 << 31) | 0xFF) != UInt32(c) { return nil }
      pos ^= offset(unit)
      if (unit >> 8) & 1 == 1 {
        guard pos < units.count else { return nil }
        let start = Int(units[pos] & ((1 << 31) - 1))
        guard start <= normalized.count else { return nil }
        // Not on a scalar boundary: `tokenizers` would panic slicing the string.
        if start < normalized.count, normalized[start] & 0xC0 == 0x80 { return nil }
        var end = start
        while end < normalized.count, normalized[end] != 0 { end += 1 }
        return normalized[start..<end]
      }
    }
    return nil
  }

  /// The normalised scalars of `input`.
  func normalize(_ input: [Unicode.Scalar]) -> [Unicode.Scalar] {
    transform(input).map(\.scalar)
  }

  /// The normalised scalars of `input`, each with the index of the input scalar whose
  /// alignment it takes (-1: the empty alignment at 0), per the rule in the type's comment.
  func transform(_ input: [Unicode.Scalar]) -> [(scalar: Unicode.Scalar, source: Int)] {
    var changes: [(scalar: Unicode.Scalar, change: Int)] = []
    changes.reserveCapacity(input.count)
    func replace(_ oldCount: Int, _ new: ArraySlice<UInt8>) {
      var newCount = 0
      for scalar in String(decoding: new, as: UTF8.self).unicodeScalars {
        changes.append((scalar, 0))
        newCount += 1
      }
      let diff = newCount - oldCount
      if diff > 0 {
        for i in (changes.count - diff)..<changes.count { changes[i].change = 1 }
      } else if diff < 0, !changes.isEmpty {
        changes[changes.count - 1].change += diff
      }
    }
    var text = String.UnicodeScalarView()
    text.append(contentsOf: input)
    var key: [UInt8] = []
    for grapheme in String(text) {
      let scalars = grapheme.unicodeScalars
      key.removeAll(keepingCapacity: true)
      for scalar in scalars { key.append(contentsOf: UTF8.encode(scalar)!) }
      if key.count < 6, let new = replacement(key) {
        replace(scalars.count, new)
        continue
      }
      for scalar in scalars {
        if let new = replacement(UTF8.encode(scalar)!) {
          replace(1, new)
        } else {
          changes.append((scalar, 0))
        }
      }
    }
    var out: [(scalar: Unicode.Scalar, source: Int)] = []
    out.reserveCapacity(changes.count)
    var cursor = 0
    for (scalar, change) in changes {
      if change > 0 {
        out.append((scalar, cursor - 1))
      } else {
        out.append((scalar, cursor))
        cursor += 1 - change
      }
    }
    return out
  }
}
