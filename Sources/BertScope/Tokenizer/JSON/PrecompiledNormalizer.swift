import Foundation

/// The `Precompiled` normaliser (SentencePiece's `precompiled_charsmap`), over the models
/// helper's ``PrecompiledCharsMap``, with its alignments mapped back to the source.
struct PrecompiledNormalizer: Sendable {
  /// The decoded charsmap.
  let map: PrecompiledCharsMap

  /// Parses a `{"type": "Precompiled", "precompiled_charsmap": "<base64>"}` object.
  init(_ node: JSONNode) throws {
    let field = try node.required("precompiled_charsmap")
    do {
      map = try PrecompiledCharsMap(base64: try field.string(), path: field.file)
    } catch BertScopeError.badModelFile(_, let problem) {
      throw field.error(problem)
    }
  }

  /// Normalises one piece.
  func apply(to piece: TextPiece, of input: AlignedText, into out: inout AlignedText) {
    let scalars = Array(input.scalars[piece.range])
    let start = out.count
    let last = piece.range.upperBound - 1
    for (scalar, source) in map.transform(scalars) {
      if source < 0 {
        out.append(scalar, Int32(piece.shift), Int32(piece.shift))
      } else {
        let i = min(piece.range.lowerBound + source, last)
        out.append(scalar, input.starts[i], input.ends[i])
      }
    }
    if out.count > start {
      out.pieces.append(TextPiece(range: start..<out.count, shift: piece.shift, token: piece.token))
    }
  }
}
