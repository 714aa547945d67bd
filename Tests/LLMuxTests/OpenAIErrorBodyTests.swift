import HTTPTypes
@testable import LLMuxHTTPFront
import LLMuxWire
import Testing

@Suite("OpenAI error statuses")
struct OpenAIErrorBodyTests {
    /// `WireErrorCode` can grow, so the status switch has a default: every code this version
    /// defines must have been given its own status, and only `internal` is a 500.
    @Test func everyKnownCodeHasAStatusAndOnlyInternalIs500() {
        for code in WireErrorCode.known {
            let status = OpenAIErrorBody.status(of: WireError(code, "x"))
            #expect((status == .internalServerError) == (code == .internal), "\(code)")
        }
        #expect(OpenAIErrorBody.status(of: WireError(WireErrorCode("from_a_newer_daemon"), "x")) == .internalServerError)
    }
}
