import Foundation
import Testing

/// The same-user check on both sockets: a client of the same user that connects and leaves at
/// once is no refusal, and must not be logged as one.
@Suite("Peer check")
struct PeerCheckTests {
    @Test func clientsThatHangUpAtOnceAreNotLoggedAsAnotherUser() async throws {
        try await TestDaemon.with { daemon in
            for path in [daemon.socketPath, daemon.httpSocketPath] {
                for round in 0..<150 {
                    let connection = try RawConnection(path)
                    if round % 2 == 1 {
                        try? connection.send(path == daemon.socketPath ? chatLine("c\(round)") + "\n" : "GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
                    }
                    connection.close()
                }
            }
            // The daemon still serves, and has had time to look at every connection.
            let health = try await HTTPFrontTests().send(daemon, "/health", method: .GET)
            #expect(health.status == 200)
            try await Task.sleep(for: .milliseconds(200))
            let warnings = daemon.logText.split(separator: "\n").filter { $0.contains("another user") }
            #expect(warnings.isEmpty, "\(warnings.count) false refusals, first: \(warnings.first ?? "")")
        }
    }
}
