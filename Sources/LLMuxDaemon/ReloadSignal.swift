/// Asks a running daemon to reload its configuration (SIGHUP). Reloads
/// asked for while one runs are merged into one more.
public final class ReloadSignal: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    public init() {
        (self.stream, self.continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func trigger() {
        self.continuation.yield()
    }

    /// Each trigger, until the consuming task is cancelled.
    var requests: AsyncStream<Void> { self.stream }
}
