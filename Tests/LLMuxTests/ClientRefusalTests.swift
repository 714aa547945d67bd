import Foundation
import LLMuxClient
import LLMuxWire
import NIOCore
import NIOPosix
import Testing

/// A daemon that refuses a connection (another user, max_connections) writes one error frame
/// without an id and shuts its end. A client that writes only after its channel has closed must
/// still learn why, not report "I/O on closed channel" (what CI saw once, under ASan).
@Suite("Client: connection refusals")
struct ClientRefusalTests {
    /// Writes the refusal and shuts its output as soon as a client connects, then reads and drops
    /// what the client sends, as llmuxd does.
    final class RefusingHandler: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        func channelActive(context: ChannelHandlerContext) {
            var buffer = context.channel.allocator.buffer(capacity: 256)
            ServerFrame.error(id: nil, WireError(.permissionDenied, "llmuxd serves only its own user")).encode(into: &buffer)
            context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
            context.close(mode: .output, promise: nil)
        }
    }

    @Test func aSendAfterTheRefusalClosedTheChannelThrowsTheRefusal() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("llmux-refusal-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("s.sock").path
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(RefusingHandler()) }
            }
            .bind(unixDomainSocketPath: path)
            .get()
        defer { server.close(promise: nil) }

        let outcome: String = try await LLMuxConnection.withConnection(socketPath: path) { connection in
            // Write until the client's channel has seen the daemon's end close; the first writes
            // may still go out (the daemon keeps reading). 500 tries of 10 ms bound a hang.
            for _ in 0..<500 {
                do {
                    try await connection.send(.ping(id: "p"))
                } catch ClientError.refused(let received) {
                    guard case .error(nil, let error) = received.frame else { return "refused without an error frame: \(received.raw)" }
                    return error.code.rawValue
                } catch {
                    return "send threw \(error)"
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            return "every send succeeded"
        }
        #expect(outcome == "permission_denied")
    }
}
