package import Hummingbird
package import NIOCore

/// The request context of the HTTP front: Hummingbird's core storage plus the
/// connection's channel, for the peer-credential check and for noticing a
/// client that hangs up mid-stream.
package struct HTTPFrontContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    package let channel: any Channel

    package init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// Request bodies up to 8 MiB, as on the socket.
    package var maxUploadSize: Int { 8 * 1024 * 1024 }
}
