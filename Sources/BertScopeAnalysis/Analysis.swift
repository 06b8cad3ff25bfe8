import BertScope

/// Namespace of the corpus-scale analyses (Kovaleva et al. 2019 and follow-ups).
public enum Analysis {}
