import Foundation
import Testing

/// `Tests/python/otlp_receiver.py` as a child process: an OTLP/HTTP collector on loopback that
/// decodes what it gets with opentelemetry-proto, independently of swift-otel's encoder.
final class OTLPReceiver: Sendable {
    /// An attribute's value as the receiver printed it.
    enum Value: Sendable, Hashable, CustomStringConvertible {
        case text(String)
        case number(Double)
        case texts([String])
        case other(String)

        var description: String {
            switch self {
            case .text(let text), .other(let text): return text
            case .number(let number): return "\(number)"
            case .texts(let texts): return texts.joined(separator: ",")
            }
        }
    }

    struct Event: Sendable {
        var name: String
        var attributes: [String: Value]
    }

    /// One decoded span.
    struct Span: Sendable {
        var name: String
        var kind: String
        var traceID: String
        var spanID: String
        var parentSpanID: String
        var attributes: [String: Value]
        var statusCode: String
        var statusMessage: String
        var events: [Event]
        var resource: [String: Value]
        var path: String

        func string(_ key: String) -> String? {
            if case .text(let text)? = self.attributes[key] { return text }
            return nil
        }
        func int(_ key: String) -> Int? { self.double(key).map { Int($0) } }
        func double(_ key: String) -> Double? {
            if case .number(let number)? = self.attributes[key] { return number }
            return nil
        }
        func strings(_ key: String) -> [String]? {
            if case .texts(let texts)? = self.attributes[key] { return texts }
            return nil
        }
        /// Every attribute value as text, for "no prompt text anywhere" checks.
        var allText: String { self.attributes.values.map(\.description).joined(separator: "\n") }
    }

    static var python: String? { OpenAISDKTests.python }
    /// CI installs opentelemetry-proto beside the SDKs and requires them.
    static var required: Bool { OpenAISDKTests.required }

    let child: ChildProcess
    let port: Int
    var endpoint: String { "http://127.0.0.1:\(self.port)" }

    private init(child: ChildProcess, port: Int) {
        self.child = child
        self.port = port
    }

    /// Starts a receiver; `stall` holds every request without answering.
    static func start(stall: Bool = false) async throws -> OTLPReceiver {
        let python = try #require(Self.python, "no Python in .venv-test")
        let child = try ChildProcess(
            python, [RepositoryPaths.root + "/Tests/python/otlp_receiver.py"] + (stall ? ["--stall"] : []), environment: cleanEnvironment())
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let first = child.stdout.split(separator: "\n").first, first.hasPrefix("port "), let port = Int(first.dropFirst(5)) {
                return OTLPReceiver(child: child, port: port)
            }
            if waitpid(child.pid, nil, WNOHANG) == child.pid {
                throw ReceiverFailure(description: "otlp_receiver.py exited: \(child.stderr)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(child.pid, SIGKILL)
        throw ReceiverFailure(description: "otlp_receiver.py did not start in 30 s: \(child.stderr)")
    }

    struct ReceiverFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// Whether opentelemetry-proto is installed where the receiver runs.
    static func isAvailable() async -> Bool {
        guard let python = Self.python else { return false }
        let check = try? await ChildProcess.run(
            python, ["-c", "import opentelemetry.proto.collector.trace.v1.trace_service_pb2"], environment: cleanEnvironment())
        return check?.status == 0
    }

    /// The spans received so far.
    var spans: [Span] {
        self.child.stdout.split(separator: "\n").dropFirst().compactMap { line -> Span? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            let status = object["status"] as? [String: Any] ?? [:]
            let events = (object["events"] as? [[String: Any]] ?? []).map { event in
                Event(name: event["name"] as? String ?? "", attributes: Self.values(event["attributes"]))
            }
            return Span(
                name: object["name"] as? String ?? "",
                kind: object["kind"] as? String ?? "",
                traceID: object["trace_id"] as? String ?? "",
                spanID: object["span_id"] as? String ?? "",
                parentSpanID: object["parent_span_id"] as? String ?? "",
                attributes: Self.values(object["attributes"]),
                statusCode: status["code"] as? String ?? "",
                statusMessage: status["message"] as? String ?? "",
                events: events,
                resource: Self.values(object["resource"]),
                path: object["path"] as? String ?? ""
            )
        }
    }

    /// How many requests a stalled receiver holds.
    var stalledRequests: Int { self.child.stdout.split(separator: "\n").filter { $0 == "stalled" }.count }

    /// Waits until `count` spans have arrived (a hang detector: 30 s).
    func waitForSpans(_ count: Int) async throws -> [Span] {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let spans = self.spans
            if spans.count >= count { return spans }
            try await Task.sleep(for: .milliseconds(20))
        }
        let spans = self.spans
        Issue.record("\(spans.count) spans arrived, \(count) expected: \(spans.map(\.name)); receiver: \(self.child.stderr)")
        return spans
    }

    func stop() async {
        kill(self.child.pid, SIGKILL)
        _ = await self.child.wait()
    }

    private static func values(_ value: Any?) -> [String: Value] {
        var result: [String: Value] = [:]
        for (key, item) in value as? [String: Any] ?? [:] {
            switch item {
            case let text as String: result[key] = .text(text)
            case let number as NSNumber: result[key] = .number(number.doubleValue)
            case let texts as [String]: result[key] = .texts(texts)
            default: result[key] = .other("\(item)")
            }
        }
        return result
    }
}
