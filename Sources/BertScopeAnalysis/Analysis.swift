import BertScope

/// Namespace of the corpus-scale analyses (Kovaleva et al. 2019 and follow-ups).
///
/// Everything corpus-level is built from one per-map feature vector (`MapFeatures`), reduced
/// by mergeable streaming accumulators, so that memory stays flat as a corpus grows and a
/// device backend can compute the features next to the maps and move only kilobytes.
/// Layers and heads are 0-based in the API and numbered from 1 in every output.
public enum Analysis {}

extension Analysis {
  /// Splits a batch into consecutive runs whose attention maps (`mapsPerSequence` maps of
  /// L×L floats per sequence) fit in `budgetBytes`, so that a batch of long texts cannot
  /// exhaust memory (one 512-token sequence of all-MiniLM-L6-v2 holds 75 MB of maps). A
  /// sequence larger than the budget gets a run of its own.
  public static func mapBatches(_ lengths: [Int], mapsPerSequence: Int, budgetBytes: Int = 256 << 20) -> [Range<Int>] {
    var runs: [Range<Int>] = []
    var start = 0, bytes = 0
    for (i, n) in lengths.enumerated() {
      let size = mapsPerSequence * n * n * MemoryLayout<Float>.size
      if i > start && bytes + size > budgetBytes {
        runs.append(start..<i)
        start = i
        bytes = 0
      }
      bytes += size
    }
    if start < lengths.count { runs.append(start..<lengths.count) }
    return runs
  }
}
