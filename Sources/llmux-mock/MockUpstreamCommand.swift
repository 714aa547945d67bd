import ArgumentParser
import Foundation
import LLMuxMockUpstream

/// `llmux-mock`: the test-support mock upstream as a standalone server, for
/// benchmarks and manual sessions. Scripts come from the request's model
/// name, e.g. `mock:chunks=100,size=8,interval_ms=5,ttft_ms=20`; any other
/// model echoes the last user message word by word.
@main
struct MockUpstreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llmux-mock",
        abstract: "A scriptable OpenAI-compatible mock upstream on loopback."
    )

    @Option(help: "Port on 127.0.0.1 (0 picks a free one; the chosen port is printed).")
    var port: Int = 0

    func run() async throws {
        let mock = try await MockUpstream.start(host: "127.0.0.1", port: self.port)
        print("llmux-mock listening on \(mock.baseURL)")
        fflush(nil)
        while !Task.isCancelled {
            try await Task.sleep(for: .seconds(3600))
        }
    }
}
