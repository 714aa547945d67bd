import Foundation

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
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in envp { free(pointer) } }
        var pid = pid_t()
        let started = ContinuousClock.now
        let result = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        close(fds[1])
        guard result == 0 else {
            close(fds[0])
            throw BenchmarkFailure("cannot start \(executable): \(String(cString: strerror(result)))")
        }
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
