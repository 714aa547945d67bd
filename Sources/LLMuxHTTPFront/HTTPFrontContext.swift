public import Hummingbird
public import NIOCore

/// The request context of the HTTP front: Hummingbird's core storage plus the
/// connection's channel, for the peer-credential check and for noticing a
/// client that hangs up mid-stream.
public struct HTTPFrontContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// Request bodies up to 8 MiB, as on the socket.
    public var maxUploadSize: Int { 8 * 1024 * 1024 }
}
