import LLMuxConcurrency
import NIOCore
import NIOPosix
import Testing

/// Tasks that prefer a connection's event loop run on it, also after they suspend.
@Suite("Event loop task executor")
struct EventLoopTaskExecutorTests {
    @Test func tasksAndTheirChildrenRunOnTheEventLoopAcrossSuspensions() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loop = group.next()
        let other = group.next()
        #expect(loop !== other)
        let observed = await withTaskExecutorPreference(EventLoopTaskExecutor(loop)) {
            var observed: [Bool] = [loop.inEventLoop]
            // A suspension that completes on another thread resumes on the preferred loop.
            try? await other.scheduleTask(in: .milliseconds(5)) {}.futureResult.get()
            observed.append(loop.inEventLoop)
            observed.append(
                contentsOf: await withTaskGroup(of: Bool.self) { children in
                    for _ in 0..<4 {
                        children.addTask {
                            try? await Task.sleep(for: .milliseconds(2))
                            return loop.inEventLoop
                        }
                    }
                    return await children.reduce(into: []) { $0.append($1) }
                }
            )
            return observed
        }
        #expect(observed == Array(repeating: true, count: 6))
        try await group.shutdownGracefully()
    }

    @Test func withoutThePreferenceTasksRunOffTheLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        #expect(!loop.inEventLoop)
        let child = await Task { loop.inEventLoop }.value
        #expect(!child)
        try await group.shutdownGracefully()
    }
}
