import Foundation

// Attention: probabilities (attention_probs.cl), P·V (attention_context.cl) and, on CPU devices,
// both in one kernel.
extension OpenCLBackend {
  private func checkAttention(
    qkv: OpenCLBuffer, probs: OpenCLBuffer, layout: OpenCLLayout, batch: PackedBatch, heads: Int, headDim: Int,
    op: String
  ) throws {
    try require(heads > 0 && headDim > 0, "\(op): \(heads) heads of dimension \(headDim)")
    try require(
      layout.tokenCount == batch.tokenCount && layout.sequenceCount == batch.count,
      "\(op): layout and batch disagree")
    try require(
      qkv.count >= batch.tokenCount * 3 * heads * headDim,
      "\(op): qkv holds \(qkv.count) floats, needs [\(batch.tokenCount), \(3 * heads * headDim)]")
    try require(
      batch.heads == heads && probs.count >= batch.probCount,
      "\(op): probs holds \(probs.count) floats, the batch needs \(batch.probCount) (\(batch.heads) heads)")
  }

  func attentionProbs(
    probs: OpenCLBuffer, qkv: OpenCLBuffer, layout: OpenCLLayout, batch: PackedBatch, heads: Int, headDim: Int,
    scale: Float, modes: [HeadMode]
  ) throws {
    try checkAttention(
      qkv: qkv, probs: probs, layout: layout, batch: batch, heads: heads, headDim: headDim, op: "attentionProbs")
    try require(modes.isEmpty || modes.count == heads, "attentionProbs: \(modes.count) head modes for \(heads) heads")
    guard batch.tokenCount > 0 else { return }
    try locked {
      let (args, options) = try probsArguments(
        probs: probs, context: nil, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: headDim,
        scale: scale, modes: modes, op: "attentionProbs")
      if config.variant == .cpu {
        let k = try kernel("attention_probs.cl", "kernel_attention_probs_cpu", options: options)
        try enqueue(k, args, global: [layout.blockCount, heads], local: [config.attentionLocal, 1])
      } else {
        let k = try kernel("attention_probs.cl", "kernel_attention_probs_gpu", options: options)
        try enqueue(
          k, args, global: [layout.blockCount * config.reductionGroup, heads], local: [config.reductionGroup, 1])
      }
    }
  }

  /// On CPU devices one kernel computes each block of query rows' probabilities and then their
  /// P·V while the rows are in cache; GPUs run the two kernels.
  func attention(
    probs: OpenCLBuffer, context: OpenCLBuffer, qkv: OpenCLBuffer, layout: OpenCLLayout, batch: PackedBatch,
    heads: Int, headDim: Int, scale: Float, modes: [HeadMode]
  ) throws {
    guard config.variant == .cpu else {
      try attentionProbs(
        probs: probs, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: headDim, scale: scale, modes: modes
      )
      try attentionContext(
        context: context, probs: probs, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: headDim)
      return
    }
    try checkAttention(
      qkv: qkv, probs: probs, layout: layout, batch: batch, heads: heads, headDim: headDim, op: "attention")
    try require(modes.isEmpty || modes.count == heads, "attention: \(modes.count) head modes for \(heads) heads")
    let tokens = batch.tokenCount
    try require(
      context.count >= tokens * heads * headDim,
      "attention: context holds \(context.count) floats, needs [\(tokens), \(heads * headDim)]")
    guard tokens > 0 else { return }
    try locked {
      let (args, options) = try probsArguments(
        probs: probs, context: context, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: headDim,
        scale: scale, modes: modes, op: "attention")
      let k = try kernel(
        "attention_context.cl+attention_probs.cl", "kernel_attention_fused_cpu", options: options + " -D WITH_CONTEXT")
      try enqueue(k, args, global: [layout.blockCount, heads], local: [config.attentionLocal, 1])
    }
  }

  /// `attention`'s context without its probabilities, for a pass that keeps no maps, map
  /// features or head distances: no L × L buffer is written or read. CPU devices run the fused
  /// kernel's arithmetic with each block's rows `__private` (kernel_attention_rows_cpu, so the
  /// context is the same as `attention`'s to the bit) while the sequences fit it, GPUs (and CPU
  /// devices for longer sequences) the online-softmax kernel_attention_flash_gpu.
  func attentionContextOnly(
    context: OpenCLBuffer, qkv: OpenCLBuffer, layout: OpenCLLayout, batch: PackedBatch, heads: Int, headDim: Int,
    scale: Float, modes: [HeadMode]
  ) throws {
    let op = "attentionContextOnly"
    try require(heads > 0 && headDim > 0, "\(op): \(heads) heads of dimension \(headDim)")
    try require(
      layout.tokenCount == batch.tokenCount && layout.sequenceCount == batch.count, "\(op): layout and batch disagree")
    try require(batch.heads == heads, "\(op): the batch was packed for \(batch.heads) heads, not \(heads)")
    let tokens = batch.tokenCount, hidden = heads * headDim
    try require(
      qkv.count >= tokens * 3 * hidden, "\(op): qkv holds \(qkv.count) floats, needs [\(tokens), \(3 * hidden)]")
    try require(
      context.count >= tokens * hidden, "\(op): context holds \(context.count) floats, needs [\(tokens), \(hidden)]")
    try require(modes.isEmpty || modes.count == heads, "\(op): \(modes.count) head modes for \(heads) heads")
    guard tokens > 0 else { return }
    try locked {
      if config.variant == .cpu && batch.maxLength <= config.privateRowsLimit {
        let keysT = try transposedKeys(qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: headDim, op: op)
        let options =
          config.attentionOptions(headDim: headDim)
          + " -D WITH_CONTEXT -D PRIVATE_ROWS -D P_SPACE=__private -D MAX_L=\(config.privateRowsLimit)"
        let k = try kernel("attention_context.cl+attention_probs.cl", "kernel_attention_rows_cpu", options: options)
        try enqueue(
          k,
          [
            .buffer(context), .buffer(qkv), .buffer(keysT), .buffer(layout.blockSequence), .buffer(layout.blockRow),
            .buffer(layout.lengths), .buffer(layout.tokenOffsets), .buffer(layout.paddedOffsets),
            .buffer(try modesBuffer(modes, heads: heads)), .int(layout.blockCount), .int(hidden), .float(scale),
          ], global: [layout.blockCount, heads], local: [config.attentionLocal, 1])
        return
      }
      let blocks = try rowBlocks(layout, rows: config.flashRows)
      // Halve the key tile until the K and V tiles fit the device's __local memory.
      var tiles = config
      while tiles.flashKeys > 1 && UInt64(tiles.flashLocalBytes(headDim: headDim)) > device.localMemoryBytes {
        tiles.flashKeys /= 2
      }
      let k = try kernel(
        "attention_flash.cl", "kernel_attention_flash_gpu", options: tiles.flashOptions(headDim: headDim))
      try enqueue(
        k,
        [
          .buffer(context), .buffer(qkv), .buffer(blocks.sequence), .buffer(blocks.row),
          .buffer(layout.lengths), .buffer(layout.tokenOffsets), .buffer(try modesBuffer(modes, heads: heads)),
          .int(blocks.count), .int(hidden), .float(scale),
        ], global: [blocks.count * config.flashRows, heads], local: [config.flashRows, 1])
    }
  }

  /// Keys transposed per (sequence, head) into the layout's scratch (kernel_attention_keys), for
  /// the CPU-device probability kernels and kernel_attention_probs_gpu. Call inside `locked`.
  private func transposedKeys(
    qkv: OpenCLBuffer, layout: OpenCLLayout, batch: PackedBatch, heads: Int, headDim: Int, op: String
  ) throws -> OpenCLBuffer {
    let tokens = batch.tokenCount, hidden = heads * headDim
    let options = config.attentionOptions(headDim: headDim)
    try require(layout.blockRows == config.attentionRows, "\(op): layout made by another backend")
    let keysT: OpenCLBuffer
    if let scratch = layout.keysT, scratch.count >= layout.paddedTokenCount * hidden {
      keysT = scratch
    } else {
      keysT = try allocate(count: layout.paddedTokenCount * hidden, copying: nil)
      layout.keysT = keysT
    }
    let keys = try kernel("attention_probs.cl", "kernel_attention_keys", options: options)
    try enqueue(
      keys,
      [
        .buffer(keysT), .buffer(qkv), .buffer(layout.tokenSequence), .buffer(layout.lengths),
        .buffer(layout.tokenOffsets), .buffer(layout.paddedOffsets), .int(tokens), .int(hidden),
      ], global: [tokens, heads], local: [config.variant == .cpu ? config.rowLocal : 64, 1])
    return keysT
  }

  /// Transposes the keys (`transposedKeys`) and returns the arguments of the probabilities
  /// kernels (with `context` after `probs` for the fused one) and their build options. Call
  /// inside `locked`.
  private func probsArguments(
    probs: OpenCLBuffer, context: OpenCLBuffer?, qkv: OpenCLBuffer, layout: OpenCLLayout, batch: PackedBatch,
    heads: Int, headDim: Int, scale: Float, modes: [HeadMode], op: String
  ) throws -> ([Arg], String) {
    let modeBuffer = try modesBuffer(modes, heads: heads)
    let hidden = heads * headDim
    let options = config.attentionOptions(headDim: headDim)
    let keysT = try transposedKeys(qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: headDim, op: op)
    let args: [Arg] =
      [.buffer(probs)] + (context.map { [Arg.buffer($0)] } ?? []) + [
        .buffer(qkv), .buffer(keysT), .buffer(layout.blockSequence), .buffer(layout.blockRow),
        .buffer(layout.lengths), .buffer(layout.tokenOffsets), .buffer(layout.probOffsets),
        .buffer(layout.paddedOffsets), .buffer(modeBuffer), .int(layout.blockCount), .int(hidden), .float(scale),
      ]
    return (args, options)
  }

  func attentionContext(
    context: OpenCLBuffer, probs: OpenCLBuffer, qkv: OpenCLBuffer, layout: OpenCLLayout, batch: PackedBatch,
    heads: Int, headDim: Int
  ) throws {
    try checkAttention(
      qkv: qkv, probs: probs, layout: layout, batch: batch, heads: heads, headDim: headDim, op: "attentionContext")
    let tokens = batch.tokenCount, hidden = heads * headDim
    try require(
      context.count >= tokens * hidden,
      "attentionContext: context holds \(context.count) floats, needs [\(tokens), \(hidden)]")
    guard tokens > 0 else { return }
    try locked {
      let options = config.attentionOptions(headDim: headDim)
      if config.variant == .cpu {
        try require(layout.blockRows == config.attentionRows, "attentionContext: layout made by another backend")
        let k = try kernel("attention_context.cl", "kernel_attention_context_cpu", options: options)
        try enqueue(
          k,
          [
            .buffer(context), .buffer(probs), .buffer(qkv), .buffer(layout.blockSequence), .buffer(layout.blockRow),
            .buffer(layout.lengths), .buffer(layout.tokenOffsets), .buffer(layout.probOffsets),
            .int(layout.blockCount), .int(hidden),
          ], global: [layout.blockCount, heads], local: [config.attentionLocal, 1])
      } else if case let groups = config.contextRows / max(config.contextRowsPerItem, 1),
        groups >= 1, config.contextRows % max(config.contextRowsPerItem, 1) == 0,
        headDim * groups <= device.maxWorkGroupSize,
        UInt64(config.contextLocalBytes(headDim: headDim)) <= device.localMemoryBytes
      {
        let blocks = try rowBlocks(layout, rows: config.contextRows)
        let k = try kernel(
          "attention_context.cl", "kernel_attention_context_gpu", options: config.contextOptions(headDim: headDim))
        try enqueue(
          k,
          [
            .buffer(context), .buffer(probs), .buffer(qkv), .buffer(blocks.sequence), .buffer(blocks.row),
            .buffer(layout.lengths), .buffer(layout.tokenOffsets), .buffer(layout.probOffsets), .int(blocks.count),
            .int(hidden),
          ], global: [blocks.count * headDim, groups, heads], local: [headDim, groups, 1])
      } else {
        let k = try kernel("attention_context.cl", "kernel_attention_context_rows_gpu", options: options)
        try enqueue(
          k,
          [
            .buffer(context), .buffer(probs), .buffer(qkv), .buffer(layout.tokenSequence), .buffer(layout.lengths),
            .buffer(layout.tokenOffsets), .buffer(layout.probOffsets), .int(tokens), .int(hidden),
          ], global: [tokens * headDim, heads], local: [headDim, 1])
      }
    }
  }
}
