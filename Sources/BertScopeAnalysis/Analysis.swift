import BertScope

/// Namespace of the corpus-scale analyses (Kovaleva et al. 2019 and follow-ups).
///
/// Everything corpus-level is built from one per-map feature vector (`MapFeatures`), reduced
/// by mergeable streaming accumulators, so that memory stays flat as a corpus grows and a
/// device backend can compute the features next to the maps and move only kilobytes.
/// Layers and heads are 0-based in the API and numbered from 1 in every output.
public enum Analysis {}
