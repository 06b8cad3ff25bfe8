import Foundation
import Prometheus

/// The server's metrics, in a registry of its own (so that several servers in one process,
/// as in the tests, keep separate counts), served by `GET /metrics` in Prometheus' text format.
final class ServerMetrics: Sendable {
  let registry = PrometheusCollectorRegistry()
  let queueDepth: Gauge
  let cancelled: Counter
  let queueTimeouts: Counter
  let tokens: Counter
  let passes: Counter
  private let batchSequences: ValueHistogram
  private let batchTokens: ValueHistogram
  private let passSeconds: ValueHistogram

  static let latencyBuckets: [Double] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
  ]

  /// `bertscope_NAME_UNIT`.
  private static func name(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
    MetricNameDescriptor(namespace: "bertscope", metricName: name, unitName: unit, helpText: help)
  }

  init() {
    queueDepth = registry.makeGauge(descriptor: Self.name("queue", "depth", "Requests waiting for a forward pass."))
    cancelled = registry.makeCounter(
      descriptor: Self.name("requests_cancelled", "total", "Queued requests whose client went away before their pass."))
    queueTimeouts = registry.makeCounter(
      descriptor: Self.name(
        "queue_timeouts", "total", "Queued requests refused with 503 after waiting --queue-timeout for a pass."))
    tokens = registry.makeCounter(
      descriptor: Self.name("tokens_processed", "total", "Real tokens (specials included) run through the encoder."))
    passes = registry.makeCounter(descriptor: Self.name("forward_passes", "total", "Forward passes (batches) run."))
    batchSequences = registry.makeValueHistogram(
      descriptor: Self.name("batch", "sequences", "Sequences per forward pass."),
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512])
    batchTokens = registry.makeValueHistogram(
      descriptor: Self.name("batch", "tokens", "Real tokens per forward pass."),
      buckets: [16, 64, 256, 1024, 4096, 16384, 65536])
    passSeconds = registry.makeValueHistogram(
      descriptor: Self.name("forward", "seconds", "Seconds per forward pass."), buckets: Self.latencyBuckets)
  }

  /// One forward pass of `sequences` sequences, `tokens` real tokens.
  func recordPass(sequences: Int, tokens count: Int, seconds: Double) {
    passes.increment()
    tokens.increment(by: Int64(count))
    batchSequences.record(Double(sequences))
    batchTokens.record(Double(count))
    passSeconds.record(seconds)
  }

  /// One answered request: its route, status, error type (nil when it succeeded) and latency.
  func recordRequest(route: String, status: Int, errorType: String?, seconds: Double) {
    registry.makeCounter(
      descriptor: Self.name("requests", "total", "Requests answered, by route and status."),
      labels: [("route", route), ("status", String(status))]
    ).increment()
    if let errorType {
      registry.makeCounter(
        descriptor: Self.name("request_errors", "total", "Requests answered with an error, by route and error type."),
        labels: [("route", route), ("error_type", errorType)]
      ).increment()
    }
    registry.makeValueHistogram(
      descriptor: Self.name("request_duration", "seconds", "Seconds from a request's arrival to its answer, by route."),
      labels: [("route", route)], buckets: Self.latencyBuckets
    ).record(seconds)
  }

  /// The metrics in Prometheus' text exposition format.
  func text() -> String { registry.emitToString() }
}
