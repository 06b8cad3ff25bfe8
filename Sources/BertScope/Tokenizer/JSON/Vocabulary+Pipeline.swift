import Foundation

extension Vocabulary {
  /// A vocabulary from a `tokenizer.json` pipeline: tokens by id, where ids nothing names are
  /// `""` (not looked up) and a token named by two ids is found under the first.
  init(pipelineTokens tokens: [String]) {
    var ids: [ExactString: Int32] = [:]
    ids.reserveCapacity(tokens.count)
    for (index, token) in tokens.enumerated() where !token.isEmpty {
      let key = ExactString(token)
      if ids[key] == nil { ids[key] = Int32(index) }
    }
    self.tokens = tokens
    self.ids = ids
  }
}
