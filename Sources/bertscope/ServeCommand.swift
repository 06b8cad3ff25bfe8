import ArgumentParser
import BertScope
import BertScopeServer
import Dispatch
import Foundation

struct ServeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "serve",
    abstract: "An HTTP service: embeddings (TEI's /embed, OpenAI's /v1/embeddings), tokens and attention maps.",
    discussion: """
      Requests are batched dynamically: one forward pass takes the queued requests, in order, up to \
      --max-batch-tokens real tokens. GET /health, /info and /metrics (Prometheus). SIGTERM or Ctrl-C \
      stops accepting connections, answers the requests in flight and exits 0; a second one exits at once.
      """)

  @OptionGroup var options: ModelOptions
  @Option(help: "Address to listen on.") var host = "127.0.0.1"
  @Option(help: "Port to listen on (0: a free one, printed).") var port = 8080
  @Option(help: "Real tokens (specials included) per forward pass.") var maxBatchTokens = 16384
  @Option(help: "Requests waiting for a pass; past this they get 429.") var maxQueue = 512
  @Option(
    help: "Tokens per input (default: the model's maximum); longer ones are cut, or get 413 with truncate: false.")
  var maxInputTokens: Int?
  @Option(help: "Largest request body, in bytes (larger: 413).") var maxBodyBytes = 2 << 20
  @Option(
    help: """
      mean or cls (default: what the model folder's sentence-transformers pooling config says, else mean).
      """)
  var pooling: Pooling?
  @Option(help: "Seconds a request may wait in the queue for its forward pass; past this it gets 503.")
  var queueTimeout: Double?

  func validate() throws {
    guard (0...65535).contains(port) else { throw ValidationError("--port must be 0–65535") }
    guard maxBatchTokens >= 1 else { throw ValidationError("--max-batch-tokens must be at least 1") }
    guard maxQueue >= 1 else { throw ValidationError("--max-queue must be at least 1") }
    if let n = maxInputTokens, n < 2 { throw ValidationError("--max-input-tokens must be at least 2") }
    guard maxBodyBytes >= 1 else { throw ValidationError("--max-body-bytes must be at least 1") }
    if let seconds = queueTimeout, !(seconds > 0 && seconds.isFinite) {
      throw ValidationError("--queue-timeout must be a positive number of seconds")
    }
  }

  func run() throws {
    let session = try options.session()
    let pooling = try pooling ?? EmbeddingServer.modelPooling(session.modelInfo.path) ?? .mean
    let server = EmbeddingServer(
      session: session,
      configuration: ServerConfiguration(
        host: host, port: port, maxBatchTokens: maxBatchTokens, maxQueue: maxQueue, maxInputTokens: maxInputTokens,
        maxBodyBytes: maxBodyBytes, truncatesByDefault: !options.noTruncate, handlesSignals: true,
        logLevel: options.quiet ? .error : .notice, pooling: pooling, queueTimeout: queueTimeout))
    // The first SIGTERM/SIGINT is the server's graceful shutdown (Signals leaves an armed run
    // to stop by itself); a second one exits at once. Never disarmed: the server's own signal
    // source may finish the shutdown before Signals' source has seen the same signal (a loaded
    // machine), and a disarmed Signals would then turn the graceful stop into exit 143.
    StopRequest.arm()
    let outcome = Outcome()
    let done = DispatchSemaphore(value: 0)
    let (host, quiet) = (host, options.quiet)
    Task {
      do {
        try await server.run { port in
          if !quiet {
            printError(
              "note: serving \(session.modelInfo.name) (\(pooling.rawValue) pooling) on http://\(host):\(port)")
          }
        }
      } catch {
        outcome.set(error)
      }
      done.signal()
    }
    done.wait()
    if let error = outcome.error { throw error }
    options.note("stopped")
  }
}

/// The error the server's task ended with, handed to the waiting thread.
private final class Outcome: @unchecked Sendable {
  private let lock = NSLock()
  private var value: (any Error)?
  func set(_ error: any Error) { lock.withLock { value = error } }
  var error: (any Error)? { lock.withLock { value } }
}
