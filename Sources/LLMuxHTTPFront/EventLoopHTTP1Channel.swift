import HummingbirdCore
import LLMuxConcurrency
import Logging
import NIOCore

/// Hummingbird's HTTP/1 child channel, with each connection's handler run on
/// that connection's event loop.
///
/// Hummingbird runs a connection's handler (reading requests, the router, the
/// response body writer) in a child task of its server's task group, on the
/// global executor. Every part read and every body write then crosses between
/// the cooperative pool and the channel's event loop, and so does every frame
/// the engine (already on that loop) hands to the body writer. Preferring an
/// `EventLoopTaskExecutor` for the handler keeps a request on one thread, as
/// the socket front does; child tasks the handler starts inherit it.
struct EventLoopHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        self.http1.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopTaskExecutor(value.channel.eventLoop)) {
            await self.http1.handle(value: value, logger: logger)
        }
    }
}

extension HTTPServerBuilder {
    /// An HTTP/1 server whose connections' handlers run on their event loops (see `EventLoopHTTP1Channel`).
    static func http1OnEventLoop(configuration: HTTP1Channel.Configuration) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            EventLoopHTTP1Channel(http1: HTTP1Channel(responder: responder, configuration: configuration))
        }
    }
}
