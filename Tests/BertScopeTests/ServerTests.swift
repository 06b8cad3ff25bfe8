import Foundation
import Testing

@testable import BertScope
@testable import BertScopeAnalysis
@testable import BertScopeServer

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif
#if canImport(Glibc)
  import Glibc
#endif

/// An `EmbeddingServer` started in this process on a free loopback port.
final class RunningServer: Sendable {
  let server: EmbeddingServer
  let session: AnalysisSession
  let base: URL
  let task: Task<Void, any Error>

  private init(server: EmbeddingServer, session: AnalysisSession, base: URL, task: Task<Void, any Error>) {
    self.server = server
    self.session = session
    self.base = base
    self.task = task
  }

  static func start(_ model: URL = Fixtures.tiny, _ configure: (inout ServerConfiguration) -> Void = { _ in })
    async throws -> RunningServer
  {
    let bert = try await ModelCache.shared.model(model)
    let session = AnalysisSession(model: bert, encoder: try Encoder(model: bert, backend: .cpu))
    var configuration = ServerConfiguration(port: 0, logLevel: .critical)
    configure(&configuration)
    let server = EmbeddingServer(session: session, configuration: configuration)
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    let task = Task { try await server.run { continuation.yield($0) } }
    var iterator = ports.makeAsyncIterator()
    guard let port = await iterator.next() else { throw BertScopeError.invalidInput("the server did not start") }
    return RunningServer(
      server: server, session: session, base: URL(string: "http://127.0.0.1:\(port)")!, task: task)
  }

  /// Shuts the server down and waits for it.
  func stop() async throws {
    await server.shutdown()
    try await task.value
  }
}

/// A client of its own (one connection at a time).
func makeClient() -> URLSession {
  let configuration = URLSessionConfiguration.ephemeral
  configuration.timeoutIntervalForRequest = 60
  return URLSession(configuration: configuration)
}

/// The client of the sequential requests.
let serverClient = makeClient()

struct HTTPAnswer: Sendable {
  let status: Int
  let body: Data
  let headers: [String: String]

  func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode(type, from: body)
  }
  var rows: [[Float]] { (try? decode([[Float]].self)) ?? [] }
  var text: String { String(decoding: body, as: UTF8.self) }
  /// The `error_type` of a TEI-style error body.
  var errorType: String? { (try? decode(ErrorAnswer.self))?.errorType }
  /// The `error` of a TEI-style error body.
  var error: String? { (try? decode(ErrorAnswer.self))?.error }
}

struct ErrorAnswer: Decodable {
  var error: String
  var errorType: String
}

struct OpenAIAnswer: Decodable {
  struct Item: Decodable {
    var object: String
    var index: Int
    var embedding: [Float]
  }
  struct Usage: Decodable {
    var promptTokens: Int
    var totalTokens: Int
  }
  var object: String
  var data: [Item]
  var model: String
  var usage: Usage
}

struct TokenizeAnswer: Decodable {
  var tokens: [String]
  var ids: [Int32]
  var segments: [Int32]
  var offsets: [[Int]?]
}

struct AttentionAnswer: Decodable {
  var tokens: [String]
  var layers: [Int]
  var heads: [Int]
  var shape: [Int]
  var attention: [[[[Float]]]]
}

struct InfoAnswer: Decodable {
  var model: String
  var backend: String
  var maxBatchTokens: Int
  var maxQueue: Int
  var maxInputTokens: Int
  var version: String
}

func http(
  _ server: RunningServer, _ method: String, _ path: String, body: Data? = nil, accept: String? = nil,
  client: URLSession = serverClient
) async throws -> HTTPAnswer {
  var request = URLRequest(url: server.base.appendingPathComponent(path))
  request.httpMethod = method
  if let body {
    request.httpBody = body
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
  }
  if let accept { request.setValue(accept, forHTTPHeaderField: "Accept") }
  let (data, response) = try await client.data(for: request)
  let answer = response as! HTTPURLResponse
  var headers: [String: String] = [:]
  for (key, value) in answer.allHeaderFields {
    if let key = key as? String, let value = value as? String { headers[key.lowercased()] = value }
  }
  return HTTPAnswer(status: answer.statusCode, body: data, headers: headers)
}

func post(
  _ server: RunningServer, _ path: String, _ json: [String: Any], accept: String? = nil,
  client: URLSession = serverClient
) async throws -> HTTPAnswer {
  try await http(
    server, "POST", path, body: try JSONSerialization.data(withJSONObject: json), accept: accept, client: client)
}

func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
  guard a.count == b.count else { return .infinity }
  return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// What `bertscope embed` writes for `texts`, one per line: the library's own run.
func libraryEmbeddings(_ session: AnalysisSession, _ texts: [String], pooling: Pooling = .mean) throws -> [[Float]] {
  let folder = Fixtures.temporaryDirectory("bertscope-serve")
  defer { try? FileManager.default.removeItem(at: folder) }
  let corpus = folder.appendingPathComponent("corpus.txt")
  try (texts.joined(separator: "\n") + "\n").write(to: corpus, atomically: true, encoding: .utf8)
  let out = folder.appendingPathComponent("embeddings.npy")
  try session.embed(CorpusSource(path: corpus.path, batchSize: 32), pooling: pooling, to: out)
  let array = try NPY.read(out)
  let h = array.shape[1]
  return (0..<array.shape[0]).map { Array(array.values[$0 * h..<($0 + 1) * h]) }
}

/// Sends `body` to `POST path` on a plain socket and returns the socket, the answer unread:
/// closing it is a client that goes away mid-request.
func sendWithoutReading(_ server: RunningServer, _ path: String, _ body: String) throws -> Int32 {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  guard fd >= 0 else { throw BertScopeError.invalidInput("socket failed") }
  var ok = false
  defer { if !ok { close(fd) } }
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_port = in_port_t(UInt16(server.base.port ?? 0).bigEndian)
  address.sin_addr.s_addr = inet_addr("127.0.0.1")
  let connected = withUnsafePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
  }
  guard connected == 0 else { throw BertScopeError.invalidInput("connect failed") }
  let request =
    "POST /\(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
  let bytes = Array(request.utf8)
  let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
  guard sent == bytes.count else { throw BertScopeError.invalidInput("send failed") }
  ok = true
  return fd
}

/// One HTTP/1.1 connection on a plain socket: requests written by hand, answers read back by
/// their `Content-Length`, so that a test sees exactly which connection each request used.
final class RawConnection {
  private(set) var fd: Int32
  private var pending: [UInt8] = []

  init(_ server: RunningServer) throws {
    fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw BertScopeError.invalidInput("socket failed") }
    var timeout = timeval(tv_sec: 60, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(server.base.port ?? 0).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard connected == 0 else {
      close(fd)
      throw BertScopeError.invalidInput("connect failed")
    }
  }

  deinit { disconnect() }

  /// Closes the socket: the client goes away.
  func disconnect() {
    if fd >= 0 { close(fd) }
    fd = -1
  }

  /// The text of one request (a JSON body when `body` is given).
  static func request(_ method: String, _ path: String, _ body: String? = nil) -> String {
    var text = "\(method) /\(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if let body {
      text += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    } else {
      text += "\r\n"
    }
    return text
  }

  /// Writes `text` (one request or several, pipelined).
  func send(_ text: String) throws {
    let bytes = Array(text.utf8)
    let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
    guard sent == bytes.count else { throw BertScopeError.invalidInput("send failed") }
  }

  /// Reads one answer: its status, headers (lower-cased names) and body.
  func receive() throws -> HTTPAnswer {
    func fill() throws {
      var chunk = [UInt8](repeating: 0, count: 65536)
      let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      guard n > 0 else { throw BertScopeError.invalidInput("the server closed the connection (recv \(n))") }
      pending += chunk[0..<n]
    }
    let separator = Array("\r\n\r\n".utf8)
    var end: Int?
    while end == nil {
      end = pending.count >= 4 ? (0...(pending.count - 4)).first { Array(pending[$0..<$0 + 4]) == separator } : nil
      if end == nil { try fill() }
    }
    let head = String(decoding: pending[0..<end!], as: UTF8.self).components(separatedBy: "\r\n")
    var headers: [String: String] = [:]
    for line in head.dropFirst() {
      guard let colon = line.firstIndex(of: ":") else { continue }
      headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    let status = Int(head[0].split(separator: " ")[1]) ?? 0
    let length = Int(headers["content-length"] ?? "0") ?? 0
    while pending.count < end! + 4 + length { try fill() }
    let body = Data(pending[(end! + 4)..<(end! + 4 + length)])
    pending.removeFirst(end! + 4 + length)
    return HTTPAnswer(status: status, body: body, headers: headers)
  }
}

/// Waits (at most `seconds`) until `condition` holds.
func eventually(_ seconds: Double = 10, _ condition: () -> Bool) async -> Bool {
  let deadline = Date().addingTimeInterval(seconds)
  while Date() < deadline {
    if condition() { return true }
    try? await Task.sleep(for: .milliseconds(20))
  }
  return condition()
}

@Suite("Server", .serialized)
struct ServerTests {
  static let texts = [
    "The cat sat on the mat.", "Attention is all you need", "", "a pair\tof texts", "héllo wörld, naïve café",
  ]

  static var models: [URL] { [Fixtures.tiny] + (Fixtures.miniLM.map { [$0] } ?? []) }

  @Test("/embed and /v1/embeddings equal `bertscope embed` (tiny, and MiniLM when installed)", arguments: models)
  func embeddingsMatchLibrary(model: URL) async throws {
    let running = try await RunningServer.start(model)
    let expected = try libraryEmbeddings(running.session, Self.texts)

    let tei = try await post(running, "embed", ["inputs": Self.texts])
    #expect(tei.status == 200)
    let teiRows = tei.rows
    #expect(teiRows.count == expected.count)
    for (i, row) in teiRows.enumerated() {
      let difference = maxDifference(row, expected[i])
      #expect(difference <= 1e-6, "/embed row \(i): \(difference)")
    }

    let one = try await post(running, "embed", ["inputs": Self.texts[0]])
    let oneRows = one.rows
    let oneDifference = maxDifference(oneRows.first ?? [], expected[0])
    #expect(oneRows.count == 1 && oneDifference <= 1e-6)

    let openAI = try await post(running, "v1/embeddings", ["input": Self.texts, "model": "m"])
    #expect(openAI.status == 200)
    let answer = try openAI.decode(OpenAIAnswer.self)
    #expect(answer.object == "list")
    #expect(answer.model == "m")
    #expect(answer.data.count == expected.count)
    for (i, item) in answer.data.enumerated() {
      #expect(item.object == "embedding")
      #expect(item.index == i)
      let difference = maxDifference(item.embedding, expected[i])
      #expect(difference <= 1e-6, "/v1/embeddings row \(i): \(difference)")
    }
    let tokens = try Self.texts.map { text in
      let fields = text.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
      return try running.session.tokenizer.encode(fields[0], pair: fields.count > 1 ? fields[1] : nil).count
    }.reduce(0, +)
    #expect(answer.usage.promptTokens == tokens)
    #expect(answer.usage.totalTokens == tokens)

    // normalize: false is the plain mean: the normalised row times the mean's norm.
    let plain = try await post(running, "embed", ["inputs": Self.texts, "normalize": false]).rows
    #expect(plain.count == expected.count)
    for (i, row) in plain.enumerated() {
      let norm = row.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
      let scaled = expected[i].map { $0 * norm }
      let difference = maxDifference(row, scaled)
      #expect(difference <= 1e-5 * max(norm, 1), "normalize false, row \(i): \(difference)")
    }
    try await running.stop()
  }

  @Test("64 concurrent clients each get their own embedding")
  func concurrentClients() async throws {
    let running = try await RunningServer.start { $0.maxBatchTokens = 512 }
    let texts = (0..<64).map { i in
      "client \(i) says " + (0...(i % 11)).map { "word\($0 * (i + 3) % 13)" }.joined(separator: " ")
    }
    let expected = try libraryEmbeddings(running.session, texts)
    let answers = try await withThrowingTaskGroup(of: (Int, HTTPAnswer).self) { group in
      for (i, text) in texts.enumerated() {
        // A client each: 64 connections at once.
        group.addTask { (i, try await post(running, "embed", ["inputs": text], client: makeClient())) }
      }
      var all: [(Int, HTTPAnswer)] = []
      for try await answer in group { all.append(answer) }
      return all
    }
    #expect(answers.count == 64)
    for (i, answer) in answers {
      #expect(answer.status == 200, "client \(i)")
      let row = answer.rows.first ?? []
      let difference = maxDifference(row, expected[i])
      #expect(difference <= 1e-6, "client \(i): \(difference)")
    }
    let metrics = try await http(running, "GET", "metrics").text
    #expect(metrics.contains("bertscope_forward_passes_total"))
    try await running.stop()
  }

  @Test("bad JSON, wrong types, empty inputs: 422; too long with truncate false, huge body: 413; unknown route: 404")
  func errors() async throws {
    let running = try await RunningServer.start {
      $0.maxInputTokens = 8
      $0.maxBodyBytes = 4096
    }
    let bad = try await http(running, "POST", "embed", body: Data("{\"inputs\": ".utf8))
    #expect(bad.status == 422)
    #expect(bad.errorType == "validation")
    #expect(bad.error?.isEmpty == false)

    let bodies: [Any] = [
      ["inputs": 5], ["inputs": [1, 2]], ["inputs": "x", "normalize": "yes"], ["text": "x"], ["inputs": [String]()],
      [1, 2], "text",
    ]
    for body in bodies {
      let data = try JSONSerialization.data(withJSONObject: body, options: .fragmentsAllowed)
      let answer = try await http(running, "POST", "embed", body: data)
      #expect(answer.status == 422, "\(body)")
      #expect(answer.errorType == "validation", "\(body)")
    }
    let wrongOpenAI = try await post(running, "v1/embeddings", ["input": ["a": 1]])
    #expect(wrongOpenAI.status == 422)
    let notUTF8 = try await http(running, "POST", "embed", body: Data([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x7D]))
    #expect(notUTF8.status == 422)

    let long = (0..<40).map { "word\($0 % 9)" }.joined(separator: " ")
    let refused = try await post(running, "embed", ["inputs": long, "truncate": false])
    #expect(refused.status == 413)
    #expect(refused.errorType == "validation")
    let cut = try await post(running, "embed", ["inputs": long])
    #expect(cut.status == 200)
    let tokens = try await post(running, "tokenize", ["inputs": long])
    let tokenCount = try tokens.decode([TokenizeAnswer].self).first?.ids.count
    #expect(tokenCount == 8)

    let huge = try await post(running, "embed", ["inputs": String(repeating: "a ", count: 10_000)])
    #expect(huge.status == 413)

    let missing = try await http(running, "GET", "nowhere")
    #expect(missing.status == 404)
    let badLayer = try await post(running, "attention", ["inputs": "x", "layers": [9]])
    #expect(badLayer.status == 422)

    // Still serving after all of that.
    let fine = try await post(running, "embed", ["inputs": ["", " "]])
    #expect(fine.status == 200)
    #expect(fine.rows.count == 2)
    let health = try await http(running, "GET", "health")
    #expect(health.status == 200)
    try await running.stop()
  }

  @Test("a full queue gives 429 with Retry-After; a client that goes away frees its slot")
  func overloadAndDisconnect() async throws {
    let running = try await RunningServer.start { $0.maxQueue = 1 }
    let batcher = running.server.batcher
    batcher.setPaused(true)
    let waiting = Task { try await post(running, "embed", ["inputs": "first"]) }
    #expect(await eventually { batcher.queued == 1 })

    let refused = try await post(running, "embed", ["inputs": "second"])
    #expect(refused.status == 429)
    #expect(refused.errorType == "overloaded")
    #expect(refused.headers["retry-after"] == "1")

    // The first client disconnects: its request leaves the queue before any pass runs.
    waiting.cancel()
    _ = try? await waiting.value
    #expect(await eventually { batcher.queued == 0 })

    // The same with a client that closes its socket after sending.
    let client = try sendWithoutReading(running, "embed", "{\"inputs\": \"gone\"}")
    #expect(await eventually { batcher.queued == 1 })
    close(client)
    #expect(await eventually { batcher.queued == 0 })

    batcher.setPaused(false)
    let later = try await post(running, "embed", ["inputs": "third"])
    #expect(later.status == 200)
    let metrics = try await http(running, "GET", "metrics").text
    #expect(metrics.contains("bertscope_requests_cancelled_total 2"))
    #expect(metrics.contains("error_type=\"overloaded\""))
    try await running.stop()
  }

  @Test("requests share one kept-alive connection, pipelined too; a later request on it still frees its slot")
  func keepAlive() async throws {
    let running = try await RunningServer.start()
    let texts = ["The cat sat on the mat.", "Attention is all you need"]
    let expected = try libraryEmbeddings(running.session, texts)
    let connection = try RawConnection(running)
    // One after another on the same socket: every answer comes back on it, none says close.
    for (i, text) in texts.enumerated() {
      try connection.send(RawConnection.request("POST", "embed", #"{"inputs": "\#(text)"}"#))
      let answer = try connection.receive()
      #expect(answer.status == 200)
      #expect(answer.headers["connection"]?.lowercased() != "close")
      let difference = maxDifference(answer.rows.first ?? [], expected[i])
      #expect(difference <= 1e-6, "request \(i): \(difference)")
    }
    try connection.send(RawConnection.request("GET", "health"))
    #expect(try connection.receive().status == 200)
    // Pipelined: three requests in one write, three answers in order.
    try connection.send(
      RawConnection.request("POST", "embed", #"{"inputs": "\#(texts[1])"}"#)
        + RawConnection.request("POST", "v1/embeddings", #"{"input": "\#(texts[0])"}"#)
        + RawConnection.request("GET", "nowhere"))
    let first = try connection.receive()
    let second = try connection.receive().decode(OpenAIAnswer.self)
    let third = try connection.receive()
    #expect(maxDifference(first.rows.first ?? [], expected[1]) <= 1e-6)
    #expect(maxDifference(second.data.first?.embedding ?? [], expected[0]) <= 1e-6)
    #expect(third.status == 404)

    // The same connection, a request left waiting, then the client closes the socket: the
    // request leaves the queue before any pass (the connection was not spent on watching).
    let batcher = running.server.batcher
    batcher.setPaused(true)
    try connection.send(RawConnection.request("POST", "embed", #"{"inputs": "abandoned"}"#))
    #expect(await eventually { batcher.queued == 1 })
    connection.disconnect()
    #expect(await eventually { batcher.queued == 0 })
    batcher.setPaused(false)
    let metrics = try await http(running, "GET", "metrics").text
    #expect(metrics.contains("bertscope_requests_cancelled_total 1"))
    // Four embedding requests answered, one pass each; the abandoned one never ran.
    #expect(metrics.contains("bertscope_forward_passes_total 4"))
    try await running.stop()
  }

  @Test("404 and 405 answer the JSON error body")
  func unmatchedRoutes() async throws {
    let running = try await RunningServer.start()
    let missing = try await http(running, "GET", "nowhere")
    #expect(missing.status == 404)
    #expect(missing.errorType == "not_found")
    #expect(missing.error?.contains("/nowhere") == true)
    #expect(missing.headers["content-type"] == "application/json")
    let wrongMethod = try await http(running, "GET", "embed")
    #expect(wrongMethod.status == 405)
    #expect(wrongMethod.errorType == "validation")
    #expect(wrongMethod.headers["allow"] == "POST")
    let postHealth = try await http(running, "POST", "health", body: Data("{}".utf8))
    #expect(postHealth.status == 405)
    #expect(postHealth.headers["allow"] == "GET")
    #expect(postHealth.error?.isEmpty == false)
    let metrics = try await http(running, "GET", "metrics").text
    #expect(metrics.contains("route=\"unmatched\""))
    #expect(try await http(running, "GET", "health").status == 200)
    try await running.stop()
  }

  @Test("/v1/embeddings: token ids, base64, dimensions; /embed: dimensions", arguments: models)
  func openAIOptions(model: URL) async throws {
    let running = try await RunningServer.start(model)
    let texts = ["The cat sat on the mat.", "héllo wörld"]
    let expected = try libraryEmbeddings(running.session, texts)
    let ids = try texts.map { try running.session.tokenizer.encode($0).ids.map(Int.init) }

    // Token ids as /tokenize gives them: the texts' embeddings.
    let one = try await post(running, "v1/embeddings", ["input": ids[0]]).decode(OpenAIAnswer.self)
    #expect(one.data.count == 1)
    #expect(maxDifference(one.data[0].embedding, expected[0]) <= 1e-6)
    #expect(one.usage.promptTokens == ids[0].count)
    let many = try await post(running, "v1/embeddings", ["input": ids]).decode(OpenAIAnswer.self)
    #expect(many.data.count == 2)
    for (i, item) in many.data.enumerated() {
      #expect(maxDifference(item.embedding, expected[i]) <= 1e-6, "ids row \(i)")
    }
    let vocabulary = min(running.session.tokenizer.vocabulary.count, running.session.config.vocabSize)
    for bad: Any in [[1, vocabulary], [-1], [[Int]()], [[101, 102], [vocabulary + 7]], ["a", [101, 102]], [1.5]] {
      let answer = try await post(running, "v1/embeddings", ["input": bad])
      #expect(answer.status == 422, "\(bad)")
      #expect(answer.errorType == "validation", "\(bad)")
    }
    let badID = try await post(running, "v1/embeddings", ["input": [[101, 102], [vocabulary + 7]]])
    #expect(badID.error?.contains("input[1][0]") == true, "\(badID.error ?? "")")

    // base64: the little-endian float32 bytes of the same rows.
    let floats = try await post(running, "v1/embeddings", ["input": texts]).decode(OpenAIAnswer.self)
    let encoded = try await post(running, "v1/embeddings", ["input": texts, "encoding_format": "base64"])
    #expect(encoded.status == 200)
    let object = try JSONSerialization.jsonObject(with: encoded.body) as? [String: Any]
    let items = object?["data"] as? [[String: Any]] ?? []
    #expect(items.count == 2)
    for (i, item) in items.enumerated() {
      let bytes = Data(base64Encoded: item["embedding"] as? String ?? "") ?? Data()
      let row = stride(from: 0, to: bytes.count, by: 4).map { o in
        Float(
          bitPattern: bytes[o..<o + 4].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) })
      }
      #expect(row.count == running.session.config.hiddenSize)
      #expect(maxDifference(row, floats.data[i].embedding) <= 1e-7, "base64 row \(i)")
      #expect(maxDifference(row, expected[i]) <= 1e-6, "base64 row \(i)")
    }
    let format = try await post(running, "v1/embeddings", ["input": "x", "encoding_format": "int8"])
    #expect(format.status == 422)

    // dimensions: the first values, normalised again.
    let hidden = running.session.config.hiddenSize
    let d = hidden / 4
    let cut = try await post(running, "v1/embeddings", ["input": texts, "dimensions": d]).decode(OpenAIAnswer.self)
    let tei = try await post(running, "embed", ["inputs": texts, "dimensions": d]).rows
    for i in 0..<2 {
      let prefix = expected[i].prefix(d)
      let norm = prefix.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
      let renormalised = prefix.map { $0 / norm }
      #expect(cut.data[i].embedding.count == d)
      #expect(maxDifference(cut.data[i].embedding, renormalised) <= 1e-6, "dimensions row \(i)")
      #expect(maxDifference(tei[i], renormalised) <= 1e-6, "/embed dimensions row \(i)")
    }
    let full = try await post(running, "v1/embeddings", ["input": texts[0], "dimensions": hidden])
    #expect(maxDifference((try full.decode(OpenAIAnswer.self)).data[0].embedding, expected[0]) <= 1e-6)
    for bad in [0, -3, hidden + 1] {
      let answer = try await post(running, "v1/embeddings", ["input": "x", "dimensions": bad])
      #expect(answer.status == 422, "dimensions \(bad)")
      #expect(answer.errorType == "validation")
    }
    #expect(try await post(running, "embed", ["inputs": "x", "dimensions": hidden + 1]).status == 422)
    try await running.stop()
  }

  @Test("--pooling: cls equals `bertscope embed --pooling cls`; the model folder's config is the default")
  func pooling() async throws {
    let running = try await RunningServer.start { $0.pooling = .cls }
    let texts = ["The cat sat on the mat.", "a pair\tof texts"]
    let expected = try libraryEmbeddings(running.session, texts, pooling: .cls)
    let rows = try await post(running, "embed", ["inputs": texts]).rows
    #expect(rows.count == 2)
    for (i, row) in rows.enumerated() {
      #expect(maxDifference(row, expected[i]) <= 1e-6, "cls row \(i)")
    }
    // normalize false: the [CLS] state itself, the normalised row times its norm.
    let plain = try await post(running, "embed", ["inputs": texts, "normalize": false]).rows
    for (i, row) in plain.enumerated() {
      let norm = row.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
      #expect(maxDifference(row, expected[i].map { $0 * norm }) <= 1e-5 * max(norm, 1), "cls plain row \(i)")
    }
    let info = try JSONSerialization.jsonObject(with: try await http(running, "GET", "info").body) as? [String: Any]
    #expect(info?["pooling"] as? String == "cls")
    try await running.stop()

    let folder = Fixtures.temporaryDirectory("bertscope-pooling")
    defer { try? FileManager.default.removeItem(at: folder) }
    #expect(try EmbeddingServer.modelPooling(folder.path) == nil)
    #expect(try EmbeddingServer.modelPooling(Fixtures.tiny.path) == nil)
    let module = folder.appendingPathComponent("1_Pooling")
    try FileManager.default.createDirectory(at: module, withIntermediateDirectories: true)
    let config = module.appendingPathComponent("config.json")
    try Data(#"{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}"#.utf8).write(to: config)
    #expect(try EmbeddingServer.modelPooling(folder.path) == .cls)
    try Data(#"{"pooling_mode_mean_tokens": true}"#.utf8).write(to: config)
    #expect(try EmbeddingServer.modelPooling(folder.path) == .mean)
    try Data(#"{"pooling_mode_max_tokens": true}"#.utf8).write(to: config)
    #expect(throws: BertScopeError.self) { try EmbeddingServer.modelPooling(folder.path) }
    if let miniLM = Fixtures.miniLM {
      #expect(try EmbeddingServer.modelPooling(miniLM.path) == .mean)
    }
    // A server without --pooling takes the folder's (here: none, so mean).
    let plainServer = try await RunningServer.start()
    let plainInfo = try JSONSerialization.jsonObject(with: try await http(plainServer, "GET", "info").body)
    #expect((plainInfo as? [String: Any])?["pooling"] as? String == "mean")
    try await plainServer.stop()
  }

  @Test("--queue-timeout: a request that waits too long gets 503, counted; the server goes on")
  func queueTimeout() async throws {
    let running = try await RunningServer.start { $0.queueTimeout = 0.3 }
    let batcher = running.server.batcher
    batcher.setPaused(true)
    let start = Date()
    let refused = try await post(running, "embed", ["inputs": "waits"])
    let waited = Date().timeIntervalSince(start)
    #expect(refused.status == 503)
    #expect(refused.errorType == "overloaded")
    #expect(refused.error?.contains("queue-timeout") == true)
    #expect(refused.headers["retry-after"] == "1")
    #expect(waited >= 0.3 && waited < 10, "\(waited) s")
    #expect(batcher.queued == 0)
    batcher.setPaused(false)
    let later = try await post(running, "embed", ["inputs": "in time"])
    #expect(later.status == 200)
    let metrics = try await http(running, "GET", "metrics").text
    #expect(metrics.contains("bertscope_queue_timeouts_total 1"))
    #expect(metrics.contains("status=\"503\""))
    let info = try JSONSerialization.jsonObject(with: try await http(running, "GET", "info").body) as? [String: Any]
    #expect(info?["queue_timeout"] as? Double == 0.3)
    try await running.stop()
  }

  @Test("graceful shutdown answers the request in flight")
  func gracefulShutdown() async throws {
    let running = try await RunningServer.start()
    let batcher = running.server.batcher
    batcher.setPaused(true)
    let inFlight = Task { try await post(running, "embed", ["inputs": "in flight"]) }
    #expect(await eventually { batcher.queued == 1 })
    let stopping = Task { try await running.stop() }
    try await Task.sleep(for: .milliseconds(300))
    batcher.setPaused(false)
    let answer = try await inFlight.value
    #expect(answer.status == 200)
    #expect(answer.rows.count == 1)
    try await stopping.value
  }

  @Test("/metrics, /health, /info, /tokenize")
  func metricsAndInfo() async throws {
    let running = try await RunningServer.start { $0.maxBatchTokens = 1000 }
    _ = try await post(running, "embed", ["inputs": ["one", "two"]])
    _ = try await http(running, "POST", "embed", body: Data("nope".utf8))
    let metrics = try await http(running, "GET", "metrics")
    #expect(metrics.status == 200)
    for name in [
      "bertscope_requests_total", "route=\"/embed\"", "status=\"200\"", "status=\"422\"",
      "bertscope_request_errors_total", "bertscope_request_duration_seconds_bucket", "bertscope_batch_sequences",
      "bertscope_batch_tokens", "bertscope_queue_depth", "bertscope_tokens_processed_total",
    ] {
      #expect(metrics.text.contains(name), "\(name)")
    }
    let info = try await http(running, "GET", "info").decode(InfoAnswer.self)
    #expect(info.model == "tiny-bert")
    #expect(info.backend == "cpu")
    #expect(info.maxBatchTokens == 1000)
    #expect(info.maxQueue == 512)
    #expect(info.maxInputTokens == running.session.tokenizer.maxLength)
    #expect(info.version == EmbeddingServer.version)

    let tokenized = try await post(running, "tokenize", ["inputs": ["The cat", "a\tb"]])
    let rows = try tokenized.decode([TokenizeAnswer].self)
    let expected = try running.session.tokenizer.encode("The cat")
    let pair = try running.session.tokenizer.encode("a", pair: "b")
    #expect(rows.count == 2)
    #expect(rows.first?.tokens == expected.tokens)
    #expect(rows.first?.ids == expected.ids)
    #expect(rows.last?.segments == pair.segments)
    #expect(rows.first?.offsets.first == .some(nil))
    try await running.stop()
  }

  @Test("/attention as JSON and as NPY equals the library's maps")
  func attentionMaps() async throws {
    let running = try await RunningServer.start()
    let text = "The cat sat on the mat."
    let pair = "It was tired."
    let encoding = try running.session.tokenizer.encode(text, pair: pair)
    let output = try running.session.encoder.encode(
      [encoding], options: EncodeOptions(maps: .select(layers: [1], heads: [0, 2])))
    let expected = output.maps[0].values()
    let length = encoding.count

    let body: [String: Any] = ["inputs": text, "pair": pair, "layers": [2], "heads": [1, 3]]
    let json = try await post(running, "attention", body)
    #expect(json.status == 200)
    let answer = try json.decode(AttentionAnswer.self)
    #expect(answer.tokens == encoding.tokens)
    #expect(answer.layers == [2])
    #expect(answer.heads == [1, 3])
    #expect(answer.shape == [1, 2, length, length])
    let flat = answer.attention.flatMap { $0.flatMap { $0.flatMap { $0 } } }
    let jsonDifference = maxDifference(flat, expected)
    #expect(jsonDifference <= 1e-6)

    let npy = try await post(running, "attention", body, accept: "application/x-npy")
    #expect(npy.status == 200)
    #expect(npy.headers["content-type"] == "application/x-npy")
    let array = try NPY.decode(npy.body)
    #expect(array.shape == [1, 2, length, length])
    let npyDifference = maxDifference(array.values, expected)
    #expect(npyDifference <= 1e-6)

    let all = try NPY.decode(try await post(running, "attention", ["inputs": text], accept: "application/x-npy").body)
    let config = running.session.config
    let tokens = try running.session.tokenizer.encode(text).count
    #expect(all.shape == [config.numLayers, config.numHeads, tokens, tokens])
    try await running.stop()
  }
}

@Suite("bertscope serve", .enabled(if: CLI.available, "the bertscope binary is not built next to the tests"))
struct ServerCLITests {
  /// A port that was free a moment ago.
  static func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
      }
    }
    guard bound else { throw BertScopeError.invalidInput("no free port") }
    return Int(UInt16(bigEndian: address.sin_port))
  }

  @Test("serve answers /embed as `bertscope embed` does, and SIGTERM exits 0")
  func serveAndTerminate() async throws {
    let port = try Self.freePort()
    let process = Process()
    process.executableURL = CLI.binary
    process.arguments = ["serve", "--model", Fixtures.tiny.path, "--port", String(port)]
    let err = Pipe()
    process.standardError = err
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    defer { if process.isRunning { process.terminate() } }
    let base = URL(string: "http://127.0.0.1:\(port)")!
    var up = false
    for _ in 0..<200 where !up {
      if let (_, response) = try? await serverClient.data(from: base.appendingPathComponent("health")),
        (response as? HTTPURLResponse)?.statusCode == 200
      {
        up = true
      } else {
        try await Task.sleep(for: .milliseconds(50))
      }
    }
    #expect(up)
    var request = URLRequest(url: base.appendingPathComponent("embed"))
    request.httpMethod = "POST"
    request.httpBody = Data(#"{"inputs": ["The cat sat.", "a\tpair"]}"#.utf8)
    let (data, _) = try await serverClient.data(for: request)
    let rows = try JSONDecoder().decode([[Float]].self, from: data)
    let bert = try await ModelCache.shared.model(Fixtures.tiny)
    let session = AnalysisSession(model: bert, encoder: try Encoder(model: bert, backend: .cpu))
    let expected = try libraryEmbeddings(session, ["The cat sat.", "a\tpair"])
    #expect(rows.count == 2)
    for (i, row) in rows.enumerated() {
      let difference = maxDifference(row, expected[i])
      #expect(difference <= 1e-6, "row \(i): \(difference)")
    }
    kill(process.processIdentifier, SIGTERM)
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(stderr.contains("stopped"), "\(stderr)")
  }
}
