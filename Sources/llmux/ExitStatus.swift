import LLMuxCommandLine
import LLMuxWire

/// The CLI's exit codes (sysexits.h where one fits). README documents them.
enum ExitStatus {
    static let ok: Int32 = 0
    static let failure: Int32 = 1
    static let usage: Int32 = usageExitStatus
    static let unavailable: Int32 = 69
    static let temporaryFailure: Int32 = 75
    static let permission: Int32 = 77
    static let config: Int32 = 78
    static let interrupted: Int32 = 130

    static func forError(_ error: WireError) -> Int32 {
        switch error.code {
        case .authFailed, .permissionDenied: return permission
        case .unknownModel, .configError: return config
        case .parseError, .invalidRequest, .duplicateID, .frameTooLarge, .unsupportedProtocol: return usage
        default: return error.retryable ? temporaryFailure : failure
        }
    }
}
