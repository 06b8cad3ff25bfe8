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
  /// How embeddings are pooled; nil: as the model folder's sentence-transformers pooling
  /// config says (``EmbeddingServer/modelPooling(_:)``), mean without one.
  public var pooling: Pooling?
  /// Seconds a request may wait in the queue for its pass; past this it is answered 503
  /// (nil: no limit).
  public var queueTimeout: Double?

  /// A configuration with `bertscope serve`'s defaults.
  public init(
    host: String = "127.0.0.1", port: Int = 8080, maxBatchTokens: Int = 16384, maxQueue: Int = 512,
    maxInputTokens: Int? = nil, maxBodyBytes: Int = 2 << 20, truncatesByDefault: Bool = true,
    modelName: String? = nil, handlesSignals: Bool = false, logLevel: Logger.Level = .notice, pooling: Pooling? = nil,
    queueTimeout: Double? = nil
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
    self.pooling = pooling
    self.queueTimeout = queueTimeout
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
  /// Token ids the model has embeddings for (token-id inputs are checked against it).
  let vocabularySize: Int
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
    vocabularySize = min(session.tokenizer.vocabulary.count, session.config.vocabSize)
    modelName = configuration.modelName ?? session.modelInfo.name
    let pooling = configuration.pooling ?? (try? Self.modelPooling(session.modelInfo.path)) ?? .mean
    batcher = Batcher(
      encoder: session.encoder, maxBatchTokens: configuration.maxBatchTokens, maxQueue: configuration.maxQueue,
      pooling: pooling, queueTimeout: configuration.queueTimeout, metrics: metrics)
    var logger = Logger(label: "bertscope.serve")
    logger.logLevel = configuration.logLevel
    self.logger = logger
  }

  /// The pooling the model folder's sentence-transformers config (`modules.json`'s Pooling
  /// module, else `1_Pooling/config.json`) asks for; nil when the folder has none. Throws
  /// when it asks for a pooling bertscope does not do (max, mean of square-rooted lengths, …).
  public static func modelPooling(_ folder: String) throws -> Pooling? {
    let root = URL(fileURLWithPath: folder)
    var module = "1_Pooling"
    if let data = try? Data(contentsOf: root.appendingPathComponent("modules.json")),
      let modules = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]],
      let pooling = modules.first(where: { ($0["type"] as? String)?.hasSuffix(".Pooling") == true }),
      let path = pooling["path"] as? String
    {
      module = path
    }
    let url = root.appendingPathComponent(module).appendingPathComponent("config.json")
    guard let data = try? Data(contentsOf: url) else { return nil }
    guard let config = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
      throw BertScopeError.badModelFile(path: url.path, problem: "not a JSON object")
    }
    let modes = config.filter { $0.key.hasPrefix("pooling_mode_") && ($0.value as? Bool) == true }.map(\.key)
    switch Set(modes) {
    case ["pooling_mode_mean_tokens"]: return .mean
    case ["pooling_mode_cls_token"]: return .cls
    case []: return nil
    default:
      throw BertScopeError.badModelFile(
        path: url.path,
        problem:
          "asks for \(modes.sorted().joined(separator: " + ")), which bertscope does not do (--pooling mean or cls)")
    }
  }

  /// Serves until ``shutdown()`` (or SIGTERM/SIGINT with `handlesSignals`): then stops
  /// accepting connections, answers the requests in flight and returns. `onRunning` gets the
  /// port listened on once the server accepts connections.
  public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
    batcher.start()
    defer { batcher.stop() }
    // Every connection gets a watcher of its own, so that a request can tell when its client
    // goes away while the connection is kept alive (see `ClientConnection`).
    let app = Application(
      router: makeRouter(),
      server: .http1(configuration: .init(additionalChannelHandlers: [InboundCloseHandler()])),
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

  /// The routes and their methods (a known path asked with another method gets 405).
  static let routes: [String: HTTPRequest.Method] = [
    "/health": .get, "/info": .get, "/metrics": .get, "/embed": .post, "/v1/embeddings": .post, "/tokenize": .post,
    "/attention": .post,
  ]

  func makeRouter() -> Router<ServeRequestContext> {
    let router = Router(context: ServeRequestContext.self)
    router.add(middleware: UnmatchedRouteMiddleware(metrics: metrics))
    router.get("health") { _, _ in try Self.json(["status": "ok"]) }
    router.get("info") { _, _ in self.info() }
    router.get("metrics") { _, _ in
      Response(
        status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
        body: ResponseBody(byteBuffer: ByteBuffer(string: self.metrics.text())))
    }
    router.post("embed") { request, context in
      await self.handle("/embed", request, context) { data in try await self.embed(data) }
    }
    router.post("v1/embeddings") { request, context in
      await self.handle("/v1/embeddings", request, context) { data in try await self.openAIEmbeddings(data) }
    }
    router.post("tokenize") { request, context in
      await self.handle("/tokenize", request, context) { data in try self.tokenize(data) }
    }
    router.post("attention") { request, context in
      let npy = request.headers[.accept]?.contains("application/x-npy") ?? false
      return await self.handle("/attention", request, context) { data in try await self.attention(data, npy: npy) }
    }
    return router
  }

  /// Reads the body (at most `maxBodyBytes`), runs `operation` on it, cancelled when the
  /// client goes away (its connection's input ends or the connection closes: see
  /// `ClientConnection`; the connection is otherwise kept alive for the client's next
  /// request), and turns every failure into a JSON error; records the metrics.
  func handle(
    _ route: String, _ request: Request, _ context: ServeRequestContext,
    _ operation: @escaping @Sendable (Data) async throws -> Response
  ) async -> Response {
    let start = DispatchTime.now().uptimeNanoseconds
    let limit = configuration.maxBodyBytes
    var response: Response
    var errorType: String?
    do {
      let buffer = try await request.body.collect(upTo: limit)
      let data = Data(buffer.readableBytesView)
      if let connection = context.connection {
        let work = Task { try await operation(data) }
        connection.watch { work.cancel() }
        defer { connection.unwatch() }
        response = try await withTaskCancellationHandler {
          try await work.value
        } onCancel: {
          work.cancel()
        }
      } else {
        response = try await operation(data)
      }
    } catch {
      let refusal = Self.refusal(error, maxBodyBytes: limit)
      if refusal.status.code >= 500 && !(error is BatcherError) { logger.error("\(route): \(refusal.message)") }
      errorType = refusal.type
      response = Self.errorResponse(refusal)
    }
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
    case BatcherError.timedOut(let seconds):
      return ServeError(
        status: .serviceUnavailable, type: "overloaded",
        message: "the request waited \(seconds) s in the queue without a forward pass (--queue-timeout); retry later",
        retryAfter: 1)
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
    case is EmbeddingInputs.Type:
      return "a string, an array of strings, an array of token ids or an array of arrays of token ids"
    default: return "\(type)"
    }
  }

  // MARK: Endpoints

  func embed(_ data: Data) async throws -> Response {
    let request = try Self.decode(EmbedRequest.self, data)
    let texts = try request.inputs.texts(field: "inputs")
    let encodings = try texts.map { try encode($0, truncate: request.truncate ?? configuration.truncatesByDefault) }
    let normalize = request.normalize ?? true
    let rows = try await embeddings(encodings, normalize: normalize, dimensions: request.dimensions)
    let width: Int = rows.first?.count ?? 0
    var json = JSONWriter(capacity: rows.count * width * 12 + 16)
    try json.rows(rows)
    return Self.jsonResponse(json)
  }

  func openAIEmbeddings(_ data: Data) async throws -> Response {
    let request = try Self.decode(OpenAIEmbeddingRequest.self, data)
    let base64: Bool
    switch request.encodingFormat ?? "float" {
    case "float": base64 = false
    case "base64": base64 = true
    case let other:
      throw ServeError.validation("encoding_format: expected \"float\" or \"base64\", not \"\(other)\"")
    }
    let encodings = try request.input.sequences(field: "input").enumerated().map { i, input in
      switch input {
      case .text(let text): return try encode(text, truncate: true)
      case .ids(let ids): return try encode(ids: ids, field: request.input.isBatch ? "input[\(i)]" : "input")
      }
    }
    let rows = try await embeddings(encodings, normalize: true, dimensions: request.dimensions)
    let tokens = encodings.reduce(0) { $0 + $1.count }
    let width: Int = rows.first?.count ?? 0
    let rowBytes: Int = (base64 ? 6 : 12) * width + 64
    var json = JSONWriter(capacity: rows.count * rowBytes + 128)
    json.raw("{\"object\":\"list\",\"data\":[")
    for (i, row) in rows.enumerated() {
      json.raw(i == 0 ? "{\"object\":\"embedding\",\"index\":" : ",{\"object\":\"embedding\",\"index\":")
      json.int(i)
      json.raw(",\"embedding\":")
      if base64 {
        json.string(Self.base64(row))
      } else {
        try json.floats(row)
      }
      json.raw("}")
    }
    json.raw("],\"model\":")
    json.string(request.model ?? modelName)
    json.raw(",\"usage\":{\"prompt_tokens\":")
    json.int(tokens)
    json.raw(",\"total_tokens\":")
    json.int(tokens)
    json.raw("}}")
    return Self.jsonResponse(json)
  }

  /// OpenAI's `encoding_format: "base64"`: the little-endian float32 bytes, in base64.
  static func base64(_ row: [Float]) -> String {
    var bytes = [UInt8]()
    bytes.reserveCapacity(row.count * 4)
    for value in row {
      let bits = value.bitPattern.littleEndian
      withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
    }
    return Data(bytes).base64EncodedString()
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
    var json = JSONWriter(capacity: values.count * 12 + encoding.tokens.count * 16 + 128)
    json.raw("{\"tokens\":")
    json.strings(encoding.tokens)
    json.raw(",\"layers\":")
    json.ints(layers.map { $0 + 1 })
    json.raw(",\"heads\":")
    json.ints(heads.map { $0 + 1 })
    json.raw(",\"shape\":")
    json.ints(shape)
    json.raw(",\"attention\":[")
    for l in 0..<layers.count {
      json.raw(l == 0 ? "[" : ",[")
      for h in 0..<heads.count {
        json.raw(h == 0 ? "[" : ",[")
        for r in 0..<length {
          if r > 0 { json.raw(",") }
          let start = (l * heads.count + h) * block + r * length
          try json.floats(values[start..<start + length])
        }
        json.raw("]")
      }
      json.raw("]")
    }
    json.raw("]}")
    return Self.jsonResponse(json)
  }

  func info() -> Response {
    let config = session.config
    let answer = InfoResponse(
      model: modelName, modelPath: session.modelInfo.path, backend: session.encoder.backend.rawValue,
      backendDescription: session.encoder.backendDescription, device: session.requestedDevice,
      hiddenSize: config.hiddenSize, layers: config.numLayers, heads: config.numHeads,
      maxBatchTokens: batcher.maxBatchTokens, maxQueue: batcher.maxQueue, maxInputTokens: maxInputTokens,
      maxBodyBytes: configuration.maxBodyBytes, pooling: batcher.pooling.rawValue,
      queueTimeout: configuration.queueTimeout, version: Self.version)
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

  /// A sequence of token ids as given (`[CLS] … [SEP]` included, as `/tokenize` returns
  /// them), cut to the input limit; every id must be in the vocabulary.
  func encode(ids: [Int], field: String) throws -> Encoding {
    guard !ids.isEmpty else { throw ServeError.validation("\(field) is an empty list of token ids") }
    if let (j, bad) = ids.enumerated().first(where: { !(0..<vocabularySize).contains($0.element) }) {
      throw ServeError.validation(
        "\(field)[\(j)]: token id \(bad) is not in the vocabulary (ids 0–\(vocabularySize - 1))")
    }
    let kept = ids.prefix(maxInputTokens).map { Int32($0) }
    return Encoding(
      tokens: kept.map { session.tokenizer.vocabulary.token($0) }, ids: kept,
      segments: [Int32](repeating: 0, count: kept.count), offsets: [Range<Int>?](repeating: nil, count: kept.count),
      truncatedTokens: ids.count - kept.count)
  }

  /// The embeddings of `encodings` from one batched pass; with `dimensions`, each cut to its
  /// first `dimensions` values (Matryoshka-style, as TEI) and normalised again when `normalize`.
  func embeddings(_ encodings: [Encoding], normalize: Bool, dimensions: Int? = nil) async throws -> [[Float]] {
    let hidden = session.config.hiddenSize
    if let dimensions, !(1...hidden).contains(dimensions) {
      throw ServeError.validation(
        dimensions < 1
          ? "dimensions must be positive" : "dimensions: \(dimensions) is more than the model's \(hidden)")
    }
    guard case .embeddings(let rows) = try await batcher.submit(encodings, kind: .embed(normalize: normalize)) else {
      throw ServeError(status: .internalServerError, type: "backend", message: "no embeddings")
    }
    guard let dimensions, dimensions < hidden else { return rows }
    return rows.map { row in
      let cut = row.prefix(dimensions)
      guard normalize else { return Array(cut) }
      let norm = cut.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
      return cut.map { norm > 0 ? Float(Double($0) / norm) : $0 }
    }
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

  static func jsonResponse(_ json: JSONWriter) -> Response {
    Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: json.buffer))
  }

  static func errorResponse(_ error: ServeError) -> Response {
    var headers: HTTPFields = [.contentType: "application/json"]
    if let seconds = error.retryAfter { headers[.retryAfter] = String(seconds) }
    var json = JSONWriter()
    json.raw("{\"error\":")
    json.string(error.message)
    json.raw(",\"error_type\":")
    json.string(error.type)
    json.raw("}")
    return Response(status: error.status, headers: headers, body: ResponseBody(byteBuffer: json.buffer))
  }
}

/// Answers what no route takes with the JSON error body of every other error: an unknown
/// path 404, a known path asked with another method 405 (with `Allow`), and any other error
/// Hummingbird raises with its own status. Counted under the route `unmatched`.
struct UnmatchedRouteMiddleware: RouterMiddleware {
  typealias Context = ServeRequestContext
  let metrics: ServerMetrics

  func handle(
    _ request: Request, context: Context, next: (Request, Context) async throws -> Response
  ) async throws -> Response {
    do {
      return try await next(request, context)
    } catch let error as HTTPError {
      var path = request.uri.path
      while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
      var refusal: ServeError
      var allow: String?
      if error.status == .notFound, let method = EmbeddingServer.routes[path], method != request.method {
        refusal = ServeError(
          status: .methodNotAllowed, type: "validation", message: "\(path) takes \(method.rawValue) only")
        allow = method.rawValue
      } else if error.status == .notFound {
        refusal = ServeError(
          status: .notFound, type: "not_found", message: "no route \(request.method.rawValue) \(path)")
      } else {
        refusal = ServeError(
          status: error.status, type: "validation", message: error.body ?? error.status.reasonPhrase)
      }
      var response = EmbeddingServer.errorResponse(refusal)
      if let allow { response.headers[.allow] = allow }
      metrics.recordRequest(route: "unmatched", status: refusal.status.code, errorType: refusal.type, seconds: 0)
      return response
    }
  }
}
