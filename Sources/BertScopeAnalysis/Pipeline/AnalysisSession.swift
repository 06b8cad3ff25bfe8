import BertScope
import Foundation

/// A model uploaded to a backend, with the policies every run on it shares (truncation,
/// notes, progress): the one entry point of the analyses for the command-line tool, the
/// report, and other programs that use BertScope as a library.
///
/// ```swift
/// let session = try AnalysisSession.load(directory: modelFolder, backend: .auto)
/// let (statistics, count) = try session.run(MapStatisticsAnalysis(), on: CorpusSource(path: "corpus.txt"))
/// let patterns = PatternsResult(statistics, info: session.runInfo(count, options: ...))
/// try patterns.write(to: outputFolder)
/// ```
public final class AnalysisSession: Sendable {
  /// The checkpoint: config, vocabulary, tokenizer, weights.
  public let model: BertModel
  /// The model on its backend.
  public let encoder: Encoder
  /// How over-long inputs are handled.
  public let truncation: Truncation
  /// Receives notes for the user (which backend `auto` took, truncated inputs, summaries).
  public let notes: NoteSink?
  /// Whether runs print a progress line on standard error.
  public let showProgress: Bool
  /// The backend asked for (`encoder.backend` is what `auto` resolved to); `loading(_:)`
  /// puts a second model on the same.
  public let requestedBackend: BackendKind
  /// The OpenCL device asked for (nil: the first GPU, else the first device).
  public let requestedDevice: Int?
  /// The linear layers' arithmetic asked for (a second model gets the same).
  public let requestedPrecision: Precision

  /// A session on an encoder made elsewhere; `requestedBackend` defaults to the encoder's.
  public init(
    model: BertModel, encoder: Encoder, truncation: Truncation = Truncation(), notes: NoteSink? = nil,
    showProgress: Bool = false,
    requestedBackend: BackendKind? = nil, requestedDevice: Int? = nil, requestedPrecision: Precision = .fp32
  ) {
    self.model = model
    self.encoder = encoder
    self.truncation = truncation
    self.notes = notes
    self.showProgress = showProgress
    self.requestedBackend = requestedBackend ?? encoder.backend
    self.requestedDevice = requestedDevice
    self.requestedPrecision = requestedPrecision
  }

  /// Loads the model in `directory` and uploads its weights to `backend` (`device`: an OpenCL
  /// device index, nil for the first GPU, else the first device). `truncate`: cut over-long
  /// inputs to the model's maximum length (with a note) instead of failing.
  public static func load(
    directory: URL, backend: BackendKind = .cpu, device: Int? = nil, truncate: Bool = true, notes: NoteSink? = nil,
    showProgress: Bool = false, precision: Precision = .fp32
  ) throws -> AnalysisSession {
    let model = try BertModel.load(from: directory)
    let encoder = try Encoder(
      model: model, backend: backend, device: device, precision: precision, note: { notes?($0) })
    return AnalysisSession(
      model: model, encoder: encoder, truncation: Truncation(truncate: truncate, note: notes), notes: notes,
      showProgress: showProgress, requestedBackend: backend, requestedDevice: device, requestedPrecision: precision)
  }

  /// Another model on the backend and device asked for, with the same policies (the second
  /// checkpoint of a comparison).
  public func loading(_ directory: URL) throws -> AnalysisSession {
    let other = try BertModel.load(from: directory)
    let encoder = try Encoder(
      model: other, backend: requestedBackend, device: requestedDevice, precision: requestedPrecision,
      note: { [notes] in notes?($0) })
    return AnalysisSession(
      model: other, encoder: encoder, truncation: truncation, notes: notes, showProgress: showProgress,
      requestedBackend: requestedBackend, requestedDevice: requestedDevice, requestedPrecision: requestedPrecision)
  }

  /// The model's configuration.
  public var config: BertConfig { model.config }
  /// The model's tokenizer.
  public var tokenizer: Tokenizer { model.tokenizer }

  /// What analysis files record about the model.
  public var modelInfo: ModelInfo { ModelInfo(model) }

  /// Passes `message` to `notes`.
  public func note(_ message: String) { notes?(message) }

  /// A progress line labelled `label` (silent unless `showProgress`).
  public func progress(_ label: String, total: Int? = nil) -> BertScope.Progress {
    Progress(label, total: total, enabled: showProgress)
  }

  /// Tokenizes `text` (and `pair`) with the session's truncation policy; `location` names the
  /// input in notes and errors.
  public func encode(_ text: String, pair: String? = nil, where location: String) throws -> Encoding {
    try truncation.encode(model.tokenizer, text, pair: pair, where: location)
  }

  /// Tokenizes a corpus line (its text and, after a TAB, its pair), naming `path:line`.
  public func encode(_ line: CorpusLine, path: String) throws -> Encoding {
    try truncation.encode(model.tokenizer, line, path: path)
  }

  /// The record of a run on this session's model and backend.
  public func runInfo(_ count: RunCount, options: RunOptions) -> RunInfo {
    RunInfo(
      model: modelInfo, backend: encoder.backendDescription, examples: count.examples, options: options,
      seconds: count.seconds)
  }

  /// Runs `analysis` over `source` and returns its state and what was processed.
  public func run<A: CorpusAnalysis>(_ analysis: A, on source: CorpusSource, label: String? = nil) throws -> (
    state: A.State, count: RunCount
  ) {
    try run(analysis, on: source, label: label, resuming: nil, checkpoint: nil)
  }

  /// `run`, resumed from `resuming` (a checkpoint's state and position), with `checkpoint`
  /// called with the state as of each checkpoint; `observeBytes` sees the whole input.
  public func run<A: CorpusAnalysis>(
    _ analysis: A, on source: CorpusSource, label: String? = nil, resuming: (state: A.State, position: CorpusPosition)?,
    checkpoint: ((A.State, CorpusPosition) throws -> Void)?, everyBatches: Int? = nil,
    observeBytes: ((UnsafeRawBufferPointer) -> Void)? = nil
  ) throws -> (state: A.State, count: RunCount) {
    var state = try resuming?.state ?? analysis.makeState(for: self)
    let checkpointing = checkpoint.map { save in
      Checkpointing(everyBatches: everyBatches) { position in try save(state, position) }
    }
    let count = try CorpusRun.forEachBatch(
      source, units: { try analysis.units(of: $0) }, progress: progress(label ?? analysis.label),
      from: resuming?.position ?? CorpusPosition(), checkpoint: checkpointing, observeBytes: observeBytes
    ) { units, path in
      try analysis.add(units, path: path, session: self, to: &state)
    }
    return (state, count)
  }
}

/// One analysis over a corpus: each batch of lines updates a state that can be saved and
/// merged, so that a corpus runs in flat memory and its parts (shards) combine into exactly
/// the statistic of the whole.
public protocol CorpusAnalysis: Sendable {
  associatedtype State: AnalysisState
  /// What the analysis reads from its input: lines (the default) or, e.g., CoNLL-U sentences.
  associatedtype Units: CorpusUnits = LineUnits
  /// The progress line's label.
  var label: String { get }
  /// The empty state for `session`'s model; throws when the analysis cannot run on it.
  func makeState(for session: AnalysisSession) throws -> State
  /// The units of the input `reader` reads.
  func units(of reader: CorpusReader) throws -> Units
  /// Adds one batch of units (non-blank lines, sentences) from `path` to `state`; returns the
  /// tokens encoded.
  func add(_ units: [Units.Unit], path: String, session: AnalysisSession, to state: inout State) throws -> Int
}

extension CorpusAnalysis where Units == LineUnits {
  /// A corpus of lines; blank ones are skipped.
  public func units(of reader: CorpusReader) -> LineUnits { LineUnits(reader, skipBlank: true) }
}

/// The running statistic of an analysis: a value (`Codable`) that another part of the same
/// corpus can be merged into.
public protocol AnalysisState: Codable, Sendable, Equatable {
  /// Adds `other`'s statistic, as if its examples had followed this one's; throws when the
  /// two come from different models or settings.
  mutating func merge(_ other: Self) throws
}

extension AnalysisState {
  /// The statistic of both parts.
  public func merged(with other: Self) throws -> Self {
    var out = self
    try out.merge(other)
    return out
  }
}

/// Tokens in `encodings`, for the progress line.
func tokenCount(_ encodings: [Encoding]) -> Int { encodings.reduce(0) { $0 + $1.count } }
