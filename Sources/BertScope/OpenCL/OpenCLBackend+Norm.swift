import Foundation

// Embeddings and layer norm (embed.cl, layer_norm.cl): a row normalisation each.
extension OpenCLBackend {
  func embed(
    out: OpenCLBuffer, layout: OpenCLLayout, batch: PackedBatch, word: OpenCLBuffer, position: OpenCLBuffer,
    type: OpenCLBuffer, gamma: OpenCLBuffer, beta: OpenCLBuffer, hidden: Int, eps: Float
  ) throws {
    let tokens = batch.tokenCount
    try require(
      hidden > 0 && layout.tokenCount == tokens, "embed: layout of \(layout.tokenCount) tokens, batch of \(tokens)")
    try require(out.count >= tokens * hidden, "embed: out holds \(out.count) floats, needs [\(tokens), \(hidden)]")
    try require(gamma.count >= hidden && beta.count >= hidden, "embed: gamma/beta shorter than hidden size \(hidden)")
    let vocab = word.count / hidden, maxPosition = position.count / hidden, types = type.count / hidden
    if let bad = batch.ids.first(where: { $0 < 0 || Int($0) >= vocab }) {
      throw BertScopeError.invalidInput("token id \(bad) is outside the vocabulary of \(vocab)")
    }
    if let bad = batch.positions.first(where: { $0 < 0 || Int($0) >= maxPosition }) {
      throw BertScopeError.sequenceTooLong(length: Int(bad) + 1, maximum: maxPosition)
    }
    if let bad = batch.tokenTypes.first(where: { $0 < 0 || Int($0) >= types }) {
      throw BertScopeError.invalidInput("token type \(bad) is outside the model's \(types) token types")
    }
    guard tokens > 0 else { return }
    try locked {
      let args: [Arg] = [
        .buffer(out), .buffer(layout.ids), .buffer(layout.positions), .buffer(layout.tokenTypes), .buffer(word),
        .buffer(position), .buffer(type), .buffer(gamma), .buffer(beta), .int(tokens), .int(hidden), .float(eps),
      ]
      try enqueueRows("embed.cl", "kernel_embed", args, rows: tokens)
    }
  }

  func layerNorm(
    out: OpenCLBuffer, input: OpenCLBuffer, rows: Int, cols: Int, gamma: OpenCLBuffer, beta: OpenCLBuffer, eps: Float
  ) throws {
    try require(rows >= 0 && cols > 0, "layerNorm: [\(rows), \(cols)]")
    try require(
      input.count >= rows * cols && out.count >= rows * cols,
      "layerNorm: input holds \(input.count), out \(out.count) floats, both need [\(rows), \(cols)]")
    try require(gamma.count >= cols && beta.count >= cols, "layerNorm: gamma/beta shorter than \(cols)")
    guard rows > 0 else { return }
    try locked {
      let args: [Arg] = [
        .buffer(out), .buffer(input), .buffer(gamma), .buffer(beta), .int(rows), .int(cols), .float(eps),
      ]
      try enqueueRows("layer_norm.cl", "kernel_layer_norm", args, rows: rows)
    }
  }

  /// Enqueues `kernel` + `_cpu` or `_gpu` of `file` over `rows` rows, as common.cl's
  /// normalize_row_{cpu,gpu} take them: a work-item per row (`_cpu`), or a work-group of
  /// `reductionGroup` work-items per row (`_gpu`). Call inside `locked`.
  private func enqueueRows(_ file: String, _ kernel: String, _ args: [Arg], rows: Int) throws {
    if config.variant == .cpu {
      let k = try self.kernel(file, kernel + "_cpu", options: "")
      try enqueue(k, args, global: [rows], local: [config.rowLocal])
    } else {
      let k = try self.kernel(file, kernel + "_gpu", options: config.reductionOptions)
      try enqueue(k, args, global: [rows * config.reductionGroup], local: [config.reductionGroup])
    }
  }
}
