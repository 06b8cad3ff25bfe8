import Hummingbird
import NIOCore
import Synchronization

/// One client connection as the request handlers see it: whether the client has gone away.
///
/// Connections are kept alive between requests (HTTP/1.1). A client that goes away while its
/// request waits for a pass must still free its queue slot; Hummingbird notices that only by
/// reading the connection past the request (which costs the connection), so instead a channel
/// handler of ours (``InboundCloseHandler``) watches every connection for the end of its input
/// (the client closed or shut down its side) or its close, and runs the action the request in
/// progress left here.
final class ClientConnection: Sendable {
  private struct State {
    var closed = false
    var onClose: (@Sendable () -> Void)?
  }
  private let state = Mutex(State())

  /// Runs `action` once the client goes away (at once if it has already) until ``unwatch()``.
  func watch(_ action: @escaping @Sendable () -> Void) {
    let closed = state.withLock { state in
      if !state.closed { state.onClose = action }
      return state.closed
    }
    if closed { action() }
  }

  /// Forgets the action of ``watch(_:)``: the request has its answer.
  func unwatch() {
    state.withLock { $0.onClose = nil }
  }

  /// The client went away: runs the action watching, if any.
  fileprivate func close() {
    let action = state.withLock { state in
      state.closed = true
      defer { state.onClose = nil }
      return state.onClose
    }
    action?()
  }

  /// The open connections, by channel: how a request finds its own (see ``ServeRequestContext``).
  fileprivate static let open = Mutex<[ObjectIdentifier: ClientConnection]>([:])

  /// The connection of `channel`, nil when it is not watched.
  static func of(_ channel: any Channel) -> ClientConnection? {
    open.withLock { $0[ObjectIdentifier(channel)] }
  }
}

/// Watches one connection for the client going away: the end of its input (with remote
/// half-closure, which Hummingbird enables, a client's `close` arrives as
/// `ChannelEvent.inputClosed`, and the channel stays open until the server closes it) or the
/// channel's close (a reset). Sits in the pipeline after the HTTP codec, passing everything on.
final class InboundCloseHandler: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = NIOAny
  private let connection = ClientConnection()
  private var key: ObjectIdentifier?

  func handlerAdded(context: ChannelHandlerContext) {
    let key = ObjectIdentifier(context.channel)
    self.key = key
    let connection = self.connection
    ClientConnection.open.withLock { $0[key] = connection }
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    closed()
  }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if let event = event as? ChannelEvent, case .inputClosed = event { connection.close() }
    context.fireUserInboundEventTriggered(event)
  }

  func channelInactive(context: ChannelHandlerContext) {
    closed()
    context.fireChannelInactive()
  }

  private func closed() {
    connection.close()
    if let key {
      _ = ClientConnection.open.withLock { $0.removeValue(forKey: key) }
      self.key = nil
    }
  }
}

/// The request context of `bertscope serve`: Hummingbird's basics and the client's connection.
public struct ServeRequestContext: RequestContext {
  public var coreContext: CoreRequestContextStorage
  /// The connection the request came on (nil when it is not watched).
  let connection: ClientConnection?

  public init(source: ApplicationRequestContextSource) {
    coreContext = .init(source: source)
    connection = ClientConnection.of(source.channel)
  }
}
