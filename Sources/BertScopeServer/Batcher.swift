import BertScope
import Foundation

/// What a queued request asks of the forward pass that takes it.
enum JobKind: Sendable {
  /// Sentence embeddings, pooled as the batcher's `pooling` says: L2-normalised
  /// (`normalize`) or plain (the mean, or the `[CLS]` state).
  case embed(normalize: Bool)
  /// The attention maps of one sequence; such a job has a pass of its own.
  case attention(MapRequest)
}

/// What a finished job gets back: only its own rows of the batch.
enum JobOutput: Sendable {
  /// One embedding per input of the job, in order.
  case embeddings([[Float]])
  /// The maps of the job's one sequence, float32 `[layers, heads, L, L]` (0-based layers and heads).
  case attention(values: [Float], layers: [Int], heads: [Int], length: Int)
}

/// Why a job was not run.
enum BatcherError: Error, Sendable {
  /// The queue holds `--max-queue` jobs already.
  case overloaded(queued: Int)
  /// The server is shutting down.
  case stopped
  /// The job waited `seconds` (`--queue-timeout`) in the queue without getting a pass.
  case timedOut(seconds: Double)
}

/// Dynamic batching: requests queue here and one worker thread takes them in arrival order,
/// as many embedding jobs as fit in `maxBatchTokens` real tokens (the encoder packs sequences
/// back to back without padding, so real tokens are what a pass costs), and runs one forward
/// pass per batch off the event loops and the cooperative pool (`Encoder.encode` blocks).
/// A job whose task is cancelled (its client went away) leaves the queue at once, as does one
/// that waited longer than `queueTimeout`; a job already in a pass runs to the end (its rows
/// are dropped when nobody waits for them).
final class Batcher: @unchecked Sendable {
  // The state below is guarded by `condition`.
  private struct Job {
    let id: UInt64
    let encodings: [Encoding]
    let tokens: Int
    let kind: JobKind
    let continuation: CheckedContinuation<JobOutput, any Error>
    var isEmbed: Bool { if case .embed = kind { return true } else { return false } }
  }

  let encoder: Encoder
  let maxBatchTokens: Int
  let maxQueue: Int
  /// How embeddings are pooled.
  let pooling: Pooling
  /// Seconds a job may wait for its pass (nil: no limit).
  let queueTimeout: Double?
  let metrics: ServerMetrics
  private let condition = NSCondition()
  private var pending: [Job] = []
  private var nextID: UInt64 = 0
  private var paused = false
  private var stopping = false
  private var running = false
  private let done = DispatchSemaphore(value: 0)

  init(
    encoder: Encoder, maxBatchTokens: Int, maxQueue: Int, pooling: Pooling = .mean, queueTimeout: Double? = nil,
    metrics: ServerMetrics
  ) {
    self.encoder = encoder
    self.maxBatchTokens = max(1, maxBatchTokens)
    self.maxQueue = max(1, maxQueue)
    self.pooling = pooling
    self.queueTimeout = queueTimeout
    self.metrics = metrics
  }

  /// Starts the worker thread.
  func start() {
    condition.lock()
    defer { condition.unlock() }
    guard !running else { return }
    running = true
    let thread = Thread { [self] in
      work()
      done.signal()
    }
    thread.name = "bertscope.batcher"
    thread.start()
  }

  /// Fails the jobs still queued and stops the worker after its current pass.
  func stop() {
    condition.lock()
    let wasRunning = running
    stopping = true
    let left = pending
    pending.removeAll()
    metrics.queueDepth.set(Double(0))
    condition.broadcast()
    condition.unlock()
    for job in left { job.continuation.resume(throwing: BatcherError.stopped) }
    if wasRunning { done.wait() }
  }

  /// Queues `encodings` and waits for their rows. Throws `BatcherError.overloaded` when the
  /// queue is full, `BatcherError.timedOut` when the job waited `queueTimeout` seconds, and
  /// `CancellationError` when the task is cancelled before its pass.
  func submit(_ encodings: [Encoding], kind: JobKind) async throws -> JobOutput {
    let id = condition.withLock {
      nextID += 1
      return nextID
    }
    let tokens = encodings.reduce(0) { $0 + $1.count }
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<JobOutput, any Error>) in
        condition.lock()
        defer { condition.unlock() }
        if Task.isCancelled {
          continuation.resume(throwing: CancellationError())
        } else if stopping {
          continuation.resume(throwing: BatcherError.stopped)
        } else if pending.count >= maxQueue {
          continuation.resume(throwing: BatcherError.overloaded(queued: pending.count))
        } else {
          pending.append(Job(id: id, encodings: encodings, tokens: tokens, kind: kind, continuation: continuation))
          metrics.queueDepth.set(Double(pending.count))
          condition.signal()
          if let seconds = queueTimeout {
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in
              if remove(id, BatcherError.timedOut(seconds: seconds)) { metrics.queueTimeouts.increment() }
            }
          }
        }
      }
    } onCancel: {
      if remove(id, CancellationError()) { metrics.cancelled.increment() }
    }
  }

  /// Removes job `id` from the queue if it is still there, failing it with `error`; a job in a
  /// pass (or answered) is left alone. Returns whether the job was removed.
  private func remove(_ id: UInt64, _ error: any Error) -> Bool {
    condition.lock()
    let job = pending.firstIndex { $0.id == id }.map { pending.remove(at: $0) }
    if job != nil { metrics.queueDepth.set(Double(pending.count)) }
    condition.unlock()
    job?.continuation.resume(throwing: error)
    return job != nil
  }

  /// Jobs waiting for a pass.
  var queued: Int { condition.withLock { pending.count } }

  /// Holds the worker before its next pass (tests: a blocked batcher), or lets it go on.
  func setPaused(_ value: Bool) {
    condition.withLock {
      paused = value
      condition.broadcast()
    }
  }

  private func work() {
    while true {
      condition.lock()
      while !stopping && (paused || pending.isEmpty) { condition.wait() }
      if stopping {
        condition.unlock()
        return
      }
      let batch = takeBatch()
      metrics.queueDepth.set(Double(pending.count))
      condition.unlock()
      run(batch)
    }
  }

  /// The first job, and when it is an embedding job, the later embedding jobs that fit in the
  /// token budget with it (a job larger than the budget runs alone). Called with the lock held.
  private func takeBatch() -> [Job] {
    let first = pending.removeFirst()
    guard first.isEmbed else { return [first] }
    var batch = [first]
    var tokens = first.tokens
    var i = 0
    while i < pending.count && tokens < maxBatchTokens {
      let job = pending[i]
      if job.isEmbed && tokens + job.tokens <= maxBatchTokens {
        batch.append(pending.remove(at: i))
        tokens += job.tokens
      } else {
        i += 1
      }
    }
    return batch
  }

  private func run(_ batch: [Job]) {
    let encodings = batch.flatMap(\.encodings)
    let tokens = batch.reduce(0) { $0 + $1.tokens }
    var options = EncodeOptions(pooling: pooling)
    if case .attention(let maps) = batch[0].kind { options.maps = maps }
    let start = DispatchTime.now().uptimeNanoseconds
    let output: EncoderOutput
    do {
      output = try encoder.encode(encodings, options: options)
    } catch {
      for job in batch { job.continuation.resume(throwing: error) }
      return
    }
    metrics.recordPass(
      sequences: encodings.count, tokens: tokens,
      seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    var first = 0
    for job in batch {
      let rows = first..<first + job.encodings.count
      first = rows.upperBound
      switch job.kind {
      case .embed(let normalize):
        let vectors = rows.map { s in
          if normalize { return Array(output.embedding(s)) }
          return pooling == .cls ? Array(output.hiddenState(s).prefix(output.hiddenSize)) : Self.mean(output, s)
        }
        job.continuation.resume(returning: .embeddings(vectors))
      case .attention:
        let maps = output.maps[rows.lowerBound]
        job.continuation.resume(
          returning: .attention(values: maps.values(), layers: maps.layers, heads: maps.heads, length: maps.length))
      }
    }
  }

  /// The plain mean of sequence `s`'s last hidden state over its real tokens, in double
  /// precision as the encoder's own pooling (whose result is this, L2-normalised).
  static func mean(_ output: EncoderOutput, _ s: Int) -> [Float] {
    let h = output.hiddenSize
    let rows = output.lengths[s]
    let state = output.hiddenState(s)
    var sum = [Double](repeating: 0, count: h)
    for r in 0..<rows {
      for j in 0..<h { sum[j] += Double(state[r * h + j]) }
    }
    return sum.map { Float($0 / Double(max(rows, 1))) }
  }
}
