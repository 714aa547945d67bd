import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Watches one HTTP connection's request/response cycle and closes it when the
/// client is gone or too slow:
///
/// - a request head that has not arrived `headerTimeout` after the connection
///   opened (slow or silent clients hold no connection for ever);
/// - a keep-alive connection with no new request head `idleTimeout` after the
///   last response ended;
/// - the client's half of the connection closed (TCP FIN) while its request is
///   being answered: the caller hung up, so the channel is closed, which
///   cancels the engine's request and with it the upstream request. Without
///   this, a FIN on TCP only half-closes the channel and the request runs on.
///
/// Timers run on the channel's event loop, so tests drive them with an
/// `EmbeddedEventLoop`'s clock.
final class HTTPConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Where the connection is in its cycle.
    enum Phase {
        /// Waiting for a request head: the first one, or the next on a kept-alive connection.
        case awaitingHead
        /// A request head arrived and its response has not ended.
        case answering
        case closed
    }

    private let headerTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var phase = Phase.awaitingHead
    private var timer: Scheduled<Void>?

    init(headerTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.arm(self.headerTimeout, context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.arm(self.headerTimeout, context: context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.disarm()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.phase = .closed
        self.disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = self.unwrapInboundIn(data), self.phase == .awaitingHead {
            self.phase = .answering
            self.disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = self.unwrapOutboundIn(data), self.phase == .answering {
            self.phase = .awaitingHead
            self.arm(self.idleTimeout, context: context)
        }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            // The client closed its side: nobody will read the answer, and no further
            // request can come. Closing the channel aborts the request being answered.
            self.close(context: context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func arm(_ delay: TimeAmount, context: ChannelHandlerContext) {
        self.disarm()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.timer = context.eventLoop.scheduleTask(in: delay) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            if handler.phase == .awaitingHead { handler.close(context: context) }
        }
    }

    private func disarm() {
        self.timer?.cancel()
        self.timer = nil
    }

    private func close(context: ChannelHandlerContext) {
        guard self.phase != .closed else { return }
        self.phase = .closed
        self.disarm()
        context.close(promise: nil)
    }
}
