import Foundation
import LLMuxClient

#if canImport(Glibc)
import Glibc
#endif

/// Starts a program with its stdout on a pipe and measures the time from
/// `posix_spawn` to the first byte it writes there (scenario e).
enum FirstByteTimer {
    struct Run {
        var firstByte: Duration?
        var output: String
        var status: Int32
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String]) async throws -> Run {
        try await withCheckedThrowingContinuation { continuation in
            // Blocking reads and waitpid, on a thread of their own rather than the cooperative pool.
            Thread.detachNewThread {
                do {
                    continuation.resume(returning: try Self.runBlocking(executable, arguments, environment: environment))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    private static func runBlocking(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> Run {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw BenchmarkFailure("pipe failed") }
        // Close-on-exec: the child keeps only the copy it gets as its stdout.
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let started = ContinuousClock.now
        let pid: pid_t
        do {
            pid = try ProcessSpawner.spawn(executable, arguments: arguments, environment: environment, stdoutDescriptor: fds[1], stderr: "/dev/null")
        } catch {
            close(fds[0])
            close(fds[1])
            throw BenchmarkFailure(error.description)
        }
        close(fds[1])
        var output: [UInt8] = []
        var firstByte: Duration?
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fds[0], &buffer, buffer.count)
            if count <= 0 { break }
            if firstByte == nil { firstByte = .now - started }
            output.append(contentsOf: buffer[0..<count])
        }
        close(fds[0])
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return Run(firstByte: firstByte, output: String(decoding: output, as: UTF8.self), status: (status >> 8) & 0xff)
    }
}
