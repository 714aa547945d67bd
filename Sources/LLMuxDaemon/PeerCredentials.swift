import LLMuxWire
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Same-user only: the socket's file mode already keeps other users out;
/// this checks every accepted connection's peer uid (`SO_PEERCRED`) as well,
/// in case the socket or its directory was opened up by mistake.
enum PeerCredentials {
    /// `struct ucred` from <sys/socket.h>, which Swift's Glibc module does not
    /// import (it needs _GNU_SOURCE): pid, uid, gid, 4 bytes each, in that order.
    struct PeerCredential: Sendable {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    /// The process at the other end of a Unix-socket `channel`.
    static func peer(_ channel: any Channel) async -> PeerCredential? {
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        let future: EventLoopFuture<PeerCredential> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET),
            name: SocketOptionName(SO_PEERCRED)
        )
        return try? await future.get()
    }

    /// Whether the peer of `channel` runs as this process's user; `nil` when the peer is gone
    /// before its credentials could be read.
    static func isSameUser(_ channel: any Channel) async -> Bool? {
        await Self.peer(channel).map { $0.uid == getuid() }
    }

    static let refusal = WireError(
        .permissionDenied,
        "llmuxd serves only its own user (uid \(getuid())); this connection runs as another user"
    )
}
