import BertScope
import Foundation

/// The word classes Kovaleva et al. 2019 (§4.4–4.5, Figures 6–7) measure attention to, read
/// from a CoNLL-U sentence; UD labels and spaCy's ClearNLP dependency labels are both accepted.
public enum LinguisticFeature: String, CaseIterable, Sendable, Codable {
  /// UPOS `NOUN` or `PROPN`.
  case noun
  /// UPOS `VERB` or `AUX` (the paper's PTB `VB*` tags).
  case verb
  /// UPOS `PRON`.
  case pronoun
  /// DEPREL ∈ ``subjectRelations``.
  case subject
  /// DEPREL ∈ ``objectRelations``.
  case object
  /// The lower-cased FORM (’ read as ') ∈ ``negationWords``.
  case negation
  /// The `[CLS]` word (position 0).
  case cls
  /// The final `[SEP]` word (position n + 1).
  case sep

  /// Subjects: UD's and ClearNLP's (spaCy's English models).
  public static let subjectRelations: Set<String> = [
    "nsubj", "nsubj:pass", "nsubjpass", "csubj", "csubj:pass", "csubjpass", "agent", "expl",
  ]
  /// Objects: UD's `obj`, `iobj`, ClearNLP's `dobj`, `dative`, `attr`, `oprd`.
  public static let objectRelations: Set<String> = ["obj", "dobj", "iobj", "dative", "attr", "oprd"]
  /// The paper's negation list, plus `n't` (how spaCy and UD split "don't").
  public static let negationWords: Set<String> = [
    "neither", "nor", "not", "never", "none", "don't", "won't", "didn't", "hadn't", "haven't", "can't", "isn't",
    "wasn't", "shouldn't", "couldn't", "nothing", "nowhere", "n't",
  ]

  /// The CSV names, in column order.
  public static let names = allCases.map(\.rawValue)

  /// Whether `word` is of this class (false for ``cls`` and ``sep``, which are positions).
  public func matches(_ word: CoNLLUWord) -> Bool {
    switch self {
    case .noun: return word.upos == "NOUN" || word.upos == "PROPN"
    case .verb: return word.upos == "VERB" || word.upos == "AUX"
    case .pronoun: return word.upos == "PRON"
    case .subject: return word.deprel.map(Self.subjectRelations.contains) ?? false
    case .object: return word.deprel.map(Self.objectRelations.contains) ?? false
    case .negation:
      return Self.negationWords.contains(word.form.lowercased().replacingOccurrences(of: "\u{2019}", with: "'"))
    case .cls, .sep: return false
    }
  }

  /// The word-level positions (0 … n + 1) of this class in `sentence`; empty when it has none.
  public func targets(in sentence: CoNLLUSentence) -> [Int] {
    switch self {
    case .cls: return [0]
    case .sep: return [sentence.words.count + 1]
    default: return sentence.words.indices.filter { matches(sentence.words[$0]) }.map { $0 + 1 }
    }
  }
}

/// Which row of a dependency arc predicts the other end (Clark et al. 2019 §4.2).
public enum DependencyDirection: String, CaseIterable, Sendable, Codable {
  /// The dependent's row: does the dependent attend most to its head?
  case dependentToHead = "dependent-to-head"
  /// The head word's row: does the head attend most to this dependent?
  case headToDependent = "head-to-dependent"
}
