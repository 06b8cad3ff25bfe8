import COpenCL
import Foundation

// Buffers, batch layouts and readback.
extension OpenCLBackend {
  func makeBuffer(count: Int) throws -> OpenCLBuffer {
    try locked { try allocate(count: count, copying: nil, hostVisible: true) }
  }

  func makeBuffer(_ values: [Float]) throws -> OpenCLBuffer {
    try locked { try upload(values) }
  }

  func makeLayout(_ batch: PackedBatch) throws -> OpenCLLayout {
    try require(
      batch.probCount <= Int(Int32.max) && batch.tokenCount <= Int(Int32.max),
      "batch of \(batch.count) sequences needs \(batch.probCount) attention probabilities per layer, "
        + "more than 2³¹; reduce the batch size or the sequence length")
    let rows = config.attentionRows
    var tokenSequence = [Int32](repeating: 0, count: batch.tokenCount)
    var paddedOffsets: [Int32] = [], blockSequence: [Int32] = [], blockRow: [Int32] = []
    var padded = 0
    for (s, (offset, length)) in zip(batch.tokenOffsets, batch.lengths).enumerated() {
      for t in offset..<(offset + length) { tokenSequence[t] = Int32(s) }
      paddedOffsets.append(Int32(padded))
      padded += (length + 15) / 16 * 16
      for row in stride(from: 0, to: length, by: rows) {
        blockSequence.append(Int32(s))
        blockRow.append(Int32(row))
      }
    }
    return try locked {
      OpenCLLayout(
        ids: try upload(batch.ids), segments: try upload(batch.segments),
        tokenTypes: batch.tokenTypes == batch.segments ? nil : try upload(batch.tokenTypes),
        positions: try upload(batch.positions),
        tokenSequence: try upload(tokenSequence),
        lengths: try upload(batch.lengths.map { Int32($0) }),
        tokenOffsets: try upload(batch.tokenOffsets.map { Int32($0) }),
        probOffsets: try upload(batch.probOffsets.map { Int32($0) }),
        paddedOffsets: try upload(paddedOffsets), blockSequence: try upload(blockSequence),
        blockRow: try upload(blockRow), kinds: try upload(batch.kinds), withinUniform: try upload(batch.withinUniform),
        blockRows: rows, blockCount: blockSequence.count, sequenceLengths: batch.lengths,
        tokenCount: batch.tokenCount, sequenceCount: batch.count, paddedTokenCount: padded)
    }
  }

  /// The layout's blocks of `rows` query rows, uploaded on first use. Call inside `locked`.
  func rowBlocks(_ layout: OpenCLLayout, rows: Int) throws -> RowBlocks {
    try require(rows > 0, "blocks of \(rows) rows")
    if let blocks = layout.otherBlocks[rows] { return blocks }
    var sequence: [Int32] = [], first: [Int32] = []
    for (s, length) in layout.sequenceLengths.enumerated() {
      for row in stride(from: 0, to: length, by: rows) {
        sequence.append(Int32(s))
        first.append(Int32(row))
      }
    }
    let blocks = RowBlocks(sequence: try upload(sequence), row: try upload(first), count: sequence.count)
    layout.otherBlocks[rows] = blocks
    return blocks
  }

  func copy(_ source: OpenCLBuffer, count: Int, to destination: OpenCLBuffer, at offset: Int) throws {
    try require(
      source !== destination && count >= 0 && count <= source.count && offset >= 0
        && offset <= destination.count - count,
      "copy of \(count) floats from a buffer of \(source.count) to offset \(offset) of a buffer of \(destination.count): out of range, or the same buffer"
    )
    // A copy of zero bytes is CL_INVALID_VALUE.
    guard count > 0 else { return }
    try locked {
      try call("clEnqueueCopyBuffer", "\(count) floats to offset \(offset)") {
        clEnqueueCopyBuffer(queue.handle, source.mem, destination.mem, 0, offset * 4, count * 4, 0, nil, nil)
      }
    }
  }

  func read(_ buffer: OpenCLBuffer, range: Range<Int>) throws -> [Float] {
    try read(buffer, ranges: [range])[0]
  }

  func read(_ buffer: OpenCLBuffer, ranges: [Range<Int>]) throws -> [[Float]] {
    let total = ranges.reduce(0) { $0 + $1.count }
    let host = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(total, 1))
    defer { host.deallocate() }
    try read(buffer, ranges: ranges, into: host.baseAddress!)
    var results: [[Float]] = []
    var offset = 0
    for range in ranges {
      results.append(Array(host[offset..<(offset + range.count)]))
      offset += range.count
    }
    return results
  }

  /// Copies `ranges` of `buffer` back to back into `host`: reads are queued without blocking
  /// and waited on once.
  func read(_ buffer: OpenCLBuffer, ranges: [Range<Int>], into host: UnsafeMutablePointer<Float>) throws {
    for range in ranges {
      try require(
        range.lowerBound >= 0 && range.upperBound <= buffer.count,
        "read: range \(range) outside a buffer of \(buffer.count) floats")
    }
    try locked {
      var queued = false
      // Never leave a read in flight into memory the caller may free.
      defer { if queued { clFinish(queue.handle) } }
      var offset = 0
      for range in ranges where !range.isEmpty {
        try call("clEnqueueReadBuffer", "\(range.count) floats at \(range.lowerBound)") {
          clEnqueueReadBuffer(
            queue.handle, buffer.mem, cl_bool(CL_FALSE), range.lowerBound * 4, range.count * 4, host + offset, 0, nil,
            nil)
        }
        queued = true
        offset += range.count
      }
      try call("clFinish") { clFinish(queue.handle) }
      queued = false
    }
  }
}
