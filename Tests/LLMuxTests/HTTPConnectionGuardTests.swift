import HTTPTypes
@testable import LLMuxHTTPFront
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing

/// The HTTP connection guard's timers and hang-up rule, on an embedded channel whose clock
/// the test moves: no sockets, no sleeping.
@Suite("HTTP connection guard")
struct HTTPConnectionGuardTests {
    func connectedChannel() throws -> (EmbeddedChannel, EmbeddedEventLoop) {
        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(handler: HTTPConnectionGuard(headerTimeout: .seconds(10), idleTimeout: .seconds(60)), loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return (channel, loop)
    }

    /// Ends the channel and its loop, so that nothing the pipeline holds outlives the test.
    func finish(_ channel: EmbeddedChannel, _ loop: EmbeddedEventLoop) {
        _ = try? channel.finish(acceptAlreadyClosed: true)
        try? loop.syncShutdownGracefully()
    }

    static let head = HTTPRequestPart.head(HTTPRequest(method: .post, scheme: nil, authority: "llmux", path: "/v1/chat/completions"))

    @Test func aConnectionWithoutARequestHeadIsClosedAtTheHeaderLimit() throws {
        let (channel, loop) = try self.connectedChannel()
        defer { self.finish(channel, loop) }
        loop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        loop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }

    @Test func aRequestBeingAnsweredHasNoTimerAndTheNextHeadGetsTheIdleLimit() throws {
        let (channel, loop) = try self.connectedChannel()
        defer { self.finish(channel, loop) }
        loop.advanceTime(by: .seconds(5))
        try channel.writeInbound(Self.head)
        try channel.writeInbound(HTTPRequestPart.end(nil))
        // A long answer: no limit applies while it is written.
        loop.advanceTime(by: .seconds(600))
        #expect(channel.isActive)
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        loop.advanceTime(by: .seconds(59))
        #expect(channel.isActive)
        // A second request in time resets it.
        try channel.writeInbound(Self.head)
        loop.advanceTime(by: .seconds(120))
        #expect(channel.isActive)
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        loop.advanceTime(by: .seconds(60))
        #expect(!channel.isActive)
    }

    @Test func theClientClosingItsSideClosesTheConnectionMidAnswer() throws {
        let (channel, loop) = try self.connectedChannel()
        defer { self.finish(channel, loop) }
        try channel.writeInbound(Self.head)
        #expect(channel.isActive)
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(!channel.isActive)
    }
}
