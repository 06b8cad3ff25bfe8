import BertScope
import BertScopeAnalysis
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The limits and address of `bertscope serve`.
public struct ServerConfiguration: Sendable {
  /// Address to listen on.
  public var host: String
  /// Port to listen on; 0 takes a free one (``EmbeddingServer/run(onRunning:)`` reports it).
  public var port: Int
  /// Real tokens (specials included) per forward pass; a request larger than this runs alone.
  public var maxBatchTokens: Int
  /// Requests waiting for a pass; past this a request is refused with 429.
  public var maxQueue: Int
  /// Tokens per input (specials included); nil: the model's maximum. Longer inputs are cut
  /// (`"truncate": true`, the default) or refused with 413.
  public var maxInputTokens: Int?
  /// Largest request body accepted, in bytes; larger ones are refused with 413.
  public var maxBodyBytes: Int
  /// What a request without `"truncate"` gets (the CLI's `--no-truncate` makes it false);
  /// `/v1/embeddings` always truncates.
  public var truncatesByDefault: Bool
  /// Name reported in `/info` and OpenAI responses (default: the model folder's name).
  public var modelName: String?
  /// Shut down gracefully on SIGTERM and SIGINT (the CLI; not in tests).
  public var handlesSignals: Bool
  /// Level of the server's log on standard error.
  public var logLevel: Logger.Level

  /// A configuration with `bertscope serve`'s defaults.
  public init(
    host: String = "127.0.0.1", port: Int = 8080, maxBatchTokens: Int = 16384, maxQueue: Int = 512,
    maxInputTokens: Int? = nil, maxBodyBytes: Int = 2 << 20, truncatesByDefault: Bool = true,
    modelName: String? = nil, handlesSignals: Bool = false, logLevel: Logger.Level = .notice
  ) {
    self.host = host
    self.port = port
    self.maxBatchTokens = maxBatchTokens
    self.maxQueue = maxQueue
    self.maxInputTokens = maxInputTokens
    self.maxBodyBytes = maxBodyBytes
    self.truncatesByDefault = truncatesByDefault
    self.modelName = modelName
    self.handlesSignals = handlesSignals
    self.logLevel = logLevel
  }
}

/// A request refused, with its HTTP status and TEI's `{"error", "error_type"}` body.
struct ServeError: Error, Sendable {
  var status: HTTPResponse.Status
  var type: String
  var message: String
  var retryAfter: Int?

  static func validation(_ message: String) -> ServeError {
    ServeError(status: .unprocessableContent, type: "validation", message: message)
  }
}

/// `bertscope serve`: embeddings (TEI's `/embed`, OpenAI's `/v1/embeddings`), tokens and
/// attention maps over HTTP, every forward pass going through one dynamic ``Batcher``.
public final class EmbeddingServer: Sendable {
  /// The server's version, reported by `/info`.
  public static let version = "1.0"

  let session: AnalysisSession
  let configuration: ServerConfiguration
  let metrics = ServerMetrics()
  let batcher: Batcher
  /// Tokens per input, the model's maximum at most.
  let maxInputTokens: Int
  let modelName: String
  let logger: Logger
  private let group = Mutex<ServiceGroup?>(nil)
  private let stopped = Mutex(false)

  /// A server on `session`'s encoder (loaded on its backend already).
  public init(session: AnalysisSession, configuration: ServerConfiguration) {
    self.session = session
    self.configuration = configuration
    let modelMax = session.tokenizer.maxLength
    maxInputTokens = min(max(configuration.maxInputTokens ?? modelMax, 2), modelMax)
    modelName = configuration.modelName ?? session.modelInfo.name
    batcher = Batcher(
      encoder: session.encoder, maxBatchTokens: configuration.maxBatchTokens, maxQueue: configuration.maxQueue,
      metrics: metrics)
    var logger = Logger(label: "bertscope.serve")
    logger.logLevel = configuration.logLevel
    self.logger = logger
  }

  /// Serves until ``shutdown()`` (or SIGTERM/SIGINT with `handlesSignals`): then stops
  /// accepting connections, answers the requests in flight and returns. `onRunning` gets the
  /// port listened on once the server accepts connections.
  public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
    batcher.start()
    defer { batcher.stop() }
    let app = Application(
      router: makeRouter(),
      configuration: ApplicationConfiguration(
        address: .hostname(configuration.host, port: configuration.port), serverName: "bertscope"),
      onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
      logger: logger)
    let group = ServiceGroup(
      services: [app], gracefulShutdownSignals: configuration.handlesSignals ? [.sigterm, .sigint] : [],
      logger: logger)
    let early = self.group.withLock { current in
      current = group
      return stopped.withLock { $0 }
    }
    if early { await group.triggerGracefulShutdown() }
    try await group.run()
  }

  /// Starts a graceful shutdown: no new connections, requests in flight are answered.
  public func shutdown() async {
    let group = self.group.withLock { current in
      stopped.withLock { $0 = true }
      return current
    }
    await group?.triggerGracefulShutdown()
  }

  // MARK: Routes

  func makeRouter() -> Router<BasicRequestContext> {
    let router = Router()
    router.get("health") { _, _ in try Self.json(["status": "ok"]) }
    router.get("info") { _, _ in self.info() }
    router.get("metrics") { _, _ in
      Response(
        status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
        body: ResponseBody(byteBuffer: ByteBuffer(string: self.metrics.text())))
    }
    router.post("embed") { request, _ in
      await self.handle("/embed", request) { data in try await self.embed(data) }
    }
    router.post("v1/embeddings") { request, _ in
      await self.handle("/v1/embeddings", request) { data in try await self.openAIEmbeddings(data) }
    }
    router.post("tokenize") { request, _ in
      await self.handle("/tokenize", request) { data in try self.tokenize(data) }
    }
    router.post("attention") { request, _ in
      let npy = request.headers[.accept]?.contains("application/x-npy") ?? false
      return await self.handle("/attention", request) { data in try await self.attention(data, npy: npy) }
    }
    return router
  }

  /// Reads the body (at most `maxBodyBytes`), runs `operation` on it, cancelled when the
  /// client's connection closes, and turns every failure into a JSON error; records the
  /// metrics. Watching for the close reads the connection past the request, so the answer
  /// says `Connection: close` and the client opens a new connection for its next request
  /// (Hummingbird's `consumeWithCancellationOnInboundClose`).
  func handle(_ route: String, _ request: Request, _ operation: @escaping @Sendable (Data) async throws -> Response)
    async -> Response
  {
    let start = DispatchTime.now().uptimeNanoseconds
    let limit = configuration.maxBodyBytes
    var response: Response
    var errorType: String?
    do {
      response = try await request.body.consumeWithCancellationOnInboundClose { body in
        let buffer = try await body.collect(upTo: limit)
        return try await operation(Data(buffer.readableBytesView))
      }
    } catch {
      let refusal = Self.refusal(error, maxBodyBytes: limit)
      if refusal.status.code >= 500 { logger.error("\(route): \(refusal.message)") }
      errorType = refusal.type
      response = Self.errorResponse(refusal)
    }
    response.headers[.connection] = "close"
    metrics.recordRequest(
      route: route, status: response.status.code, errorType: errorType,
      seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    return response
  }

  /// The status, type and message an error is answered with.
  static func refusal(_ error: any Error, maxBodyBytes: Int) -> ServeError {
    switch error {
    case let error as ServeError: return error
    case BatcherError.overloaded(let queued):
      return ServeError(
        status: .tooManyRequests, type: "overloaded",
        message: "the queue is full (\(queued) requests waiting); retry later", retryAfter: 1)
    case BatcherError.stopped:
      return ServeError(status: .serviceUnavailable, type: "unhealthy", message: "the server is shutting down")
    case is NIOTooManyBytesError:
      return ServeError(
        status: .contentTooLarge, type: "validation", message: "the request body is over \(maxBodyBytes) bytes")
    case is DecodingError:
      return .validation(describe(error as! DecodingError))
    case is CancellationError:
      // The client went away; nobody reads this.
      return ServeError(status: HTTPResponse.Status(code: 499), type: "cancelled", message: "request cancelled")
    case BertScopeError.invalidInput(let message):
      return .validation(message)
    case let error as BertScopeError:
      if case .outOfDeviceMemory = error {
        return ServeError(status: .contentTooLarge, type: "validation", message: error.description)
      }
      return ServeError(status: .internalServerError, type: "backend", message: error.description)
    default:
      return ServeError(status: .internalServerError, type: "backend", message: "\(error)")
    }
  }

  static func describe(_ error: DecodingError) -> String {
    func path(_ context: DecodingError.Context) -> String {
      let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
      return keys.isEmpty ? "the body" : String(keys.dropFirst(keys.hasPrefix(".") ? 1 : 0))
    }
    switch error {
    case .typeMismatch(let type, let context):
      return "\(path(context)): expected \(typeName(type))"
    case .valueNotFound(let type, let context):
      return "\(path(context)): expected \(typeName(type)), found null"
    case .keyNotFound(let key, _):
      return "missing field `\(key.stringValue)`"
    case .dataCorrupted(let context):
      return context.codingPath.isEmpty
        ? "the body is not valid JSON (UTF-8)" : "\(path(context)): \(context.debugDescription)"
    @unknown default:
      return "invalid request"
    }
  }

  static func typeName(_ type: Any.Type) -> String {
    switch type {
    case is String.Type: return "a string"
    case is Bool.Type: return "a boolean"
    case is Int.Type: return "an integer"
    case is [Int].Type: return "an array of integers"
    case is TextInputs.Type, is [String].Type: return "a string or an array of strings"
    default: return "\(type)"
    }
  }

  // MARK: Endpoints

  func embed(_ data: Data) async throws -> Response {
    let request = try Self.decode(EmbedRequest.self, data)
    let texts = try request.inputs.texts(field: "inputs")
    let encodings = try texts.map { try encode($0, truncate: request.truncate ?? configuration.truncatesByDefault) }
    let rows = try await embeddings(encodings, normalize: request.normalize ?? true)
    return try Self.json(rows)
  }

  func openAIEmbeddings(_ data: Data) async throws -> Response {
    let request = try Self.decode(OpenAIEmbeddingRequest.self, data)
    let texts = try request.input.texts(field: "input")
    let encodings = try texts.map { try encode($0, truncate: true) }
    let rows = try await embeddings(encodings, normalize: true)
    let tokens = encodings.reduce(0) { $0 + $1.count }
    let answer = OpenAIEmbeddingResponse(
      data: rows.enumerated().map { OpenAIEmbeddingResponse.Item(index: $0.offset, embedding: $0.element) },
      model: request.model ?? modelName, usage: .init(promptTokens: tokens, totalTokens: tokens))
    return try Self.json(answer)
  }

  func tokenize(_ data: Data) throws -> Response {
    let request = try Self.decode(TokenizeRequest.self, data)
    let texts = try request.inputs.texts(field: "inputs")
    let answer = try texts.map { text in
      let e = try encode(text, truncate: request.truncate ?? configuration.truncatesByDefault)
      return TokenizeResponse(
        tokens: e.tokens, ids: e.ids, segments: e.segments,
        offsets: e.offsets.map { $0.map { [$0.lowerBound, $0.upperBound] } })
    }
    return try Self.json(answer)
  }

  func attention(_ data: Data, npy: Bool) async throws -> Response {
    let request = try Self.decode(AttentionRequest.self, data)
    let config = session.config
    for layer in request.layers ?? [] where !(1...config.numLayers).contains(layer) {
      throw ServeError.validation("layer \(layer) does not exist (the model has layers 1–\(config.numLayers))")
    }
    for head in request.heads ?? [] where !(1...config.numHeads).contains(head) {
      throw ServeError.validation("head \(head) does not exist (the model has heads 1–\(config.numHeads))")
    }
    let maps = MapRequest.select(layers: request.layers?.map { $0 - 1 }, heads: request.heads?.map { $0 - 1 })
    let encoding = try encode(
      request.inputs, pair: request.pair, truncate: request.truncate ?? configuration.truncatesByDefault)
    guard
      case .attention(let values, let layers, let heads, let length) = try await batcher.submit(
        [encoding], kind: .attention(maps))
    else { throw ServeError(status: .internalServerError, type: "backend", message: "no maps") }
    let shape = [layers.count, heads.count, length, length]
    if npy {
      return Response(
        status: .ok, headers: [.contentType: "application/x-npy"],
        body: ResponseBody(byteBuffer: ByteBuffer(bytes: NPY.encode(values, shape: shape))))
    }
    let block = length * length
    let nested = (0..<layers.count).map { l in
      (0..<heads.count).map { h in
        (0..<length).map { r in
          Array(
            values[((l * heads.count + h) * block + r * length)..<((l * heads.count + h) * block + (r + 1) * length)])
        }
      }
    }
    return try Self.json(
      AttentionResponse(
        tokens: encoding.tokens, layers: layers.map { $0 + 1 }, heads: heads.map { $0 + 1 }, shape: shape,
        attention: nested))
  }

  func info() -> Response {
    let config = session.config
    let answer = InfoResponse(
      model: modelName, modelPath: session.modelInfo.path, backend: session.encoder.backend.rawValue,
      backendDescription: session.encoder.backendDescription, device: session.requestedDevice,
      hiddenSize: config.hiddenSize, layers: config.numLayers, heads: config.numHeads,
      maxBatchTokens: batcher.maxBatchTokens, maxQueue: batcher.maxQueue, maxInputTokens: maxInputTokens,
      maxBodyBytes: configuration.maxBodyBytes, version: Self.version)
    return (try? Self.json(answer)) ?? Response(status: .internalServerError)
  }

  // MARK: Helpers

  /// Tokenizes an input as `bertscope embed` does a corpus line: a TAB makes it a pair (the
  /// text before it and the one after the first TAB).
  func encode(_ text: String, truncate: Bool) throws -> Encoding {
    let fields = text.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
    return try encode(fields[0], pair: fields.count > 1 ? fields[1] : nil, truncate: truncate)
  }

  func encode(_ text: String, pair: String?, truncate: Bool) throws -> Encoding {
    do {
      return try session.tokenizer.encode(text, pair: pair, maxLength: maxInputTokens, truncate: truncate)
    } catch BertScopeError.sequenceTooLong(let length, let maximum) {
      throw ServeError(
        status: .contentTooLarge, type: "validation",
        message:
          "an input has \(length) tokens, the server takes at most \(maximum) (send \"truncate\": true to cut it)"
      )
    }
  }

  func embeddings(_ encodings: [Encoding], normalize: Bool) async throws -> [[Float]] {
    guard case .embeddings(let rows) = try await batcher.submit(encodings, kind: .embed(normalize: normalize)) else {
      throw ServeError(status: .internalServerError, type: "backend", message: "no embeddings")
    }
    return rows
  }

  static func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
    try JSONDecoder().decode(type, from: data)
  }

  static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = .withoutEscapingSlashes
    let data = try encoder.encode(value)
    return Response(
      status: status, headers: [.contentType: "application/json"],
      body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
  }

  static func errorResponse(_ error: ServeError) -> Response {
    var headers: HTTPFields = [.contentType: "application/json"]
    if let seconds = error.retryAfter { headers[.retryAfter] = String(seconds) }
    let body = (try? JSONEncoder().encode(["error": error.message, "error_type": error.type])) ?? Data()
    return Response(status: error.status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
  }
}
