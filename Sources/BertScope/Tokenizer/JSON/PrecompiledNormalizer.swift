import Foundation

/// The `Precompiled` normaliser (SentencePiece's `precompiled_charsmap`).
///
/// TODO(tok-models): needs the models helper's `PrecompiledCharsMap`; until it is merged the
/// field is parsed (base64) and loading refuses the normaliser with a clear error.
struct PrecompiledNormalizer: Sendable {
  /// The decoded `precompiled_charsmap` bytes.
  let bytes: [UInt8]

  /// Parses a `{"type": "Precompiled", "precompiled_charsmap": "<base64>"}` object.
  init(_ node: JSONNode) throws {
    let field = try node.required("precompiled_charsmap")
    guard let data = Data(base64Encoded: try field.string()) else {
      throw field.error("not valid base64")
    }
    bytes = [UInt8](data)
    throw node.error("the Precompiled normalizer is not supported yet (its charsmap is not implemented)")
  }

  /// Normalises one piece.
  func apply(to piece: TextPiece, of input: AlignedText, into out: inout AlignedText) {
    input.copyPiece(piece, into: &out)
  }
}
