import Foundation

/// One token a ``SubwordModel`` produced from a pre-token (a "word").
struct SubwordToken: Sendable, Equatable {
  /// Vocabulary id.
  var id: Int32
  /// The scalars of the word it covers, as 0-based indices into the word.
  var range: Range<Int>
}

/// The `model` of a Hugging Face `tokenizer.json` (WordPiece, BPE or Unigram): turns one
/// pre-token, already normalised and pre-tokenised, into vocabulary ids.
///
/// Everything before (normalisers, pre-tokenisers, added tokens) and after (post-processors,
/// truncation) is the pipeline's business (``PipelineTokenizer``); a model sees only the
/// scalars of one word and says which of them each token covers, so that the pipeline can map
/// tokens back to the source text through its alignments.
protocol SubwordModel: Sendable {
  /// Appends the tokens of `word` to `out`. Never fails: a word without a segmentation gives
  /// the model's unknown token (or its byte-fallback tokens), as `tokenizers` does; a model
  /// without an unknown token drops what it cannot segment, as `tokenizers` does.
  func tokenize(_ word: ArraySlice<Unicode.Scalar>, into out: inout [SubwordToken])
  /// The id of `token` in the model's own vocabulary (added tokens excluded).
  func id(of token: String) -> Int32?
  /// The token of `id` in the model's own vocabulary; nil for an id outside it.
  func token(of id: Int32) -> String?
  /// Number of ids the model's vocabulary spans (its largest id + 1).
  var vocabularySize: Int { get }
}
