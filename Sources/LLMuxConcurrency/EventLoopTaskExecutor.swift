package import NIOCore

/// A task executor that runs Swift tasks on one NIO event loop, so a connection's
/// requests run on the thread that reads and writes its socket.
///
/// The socket front's `ConnectionSession` prefers it for everything a connection
/// runs; the HTTP front prefers it for each connection's handler
/// (`EventLoopHTTP1Channel`) and runs each request's engine task on it: reading a
/// line, running its request and queueing the frames then happen on one thread
/// instead of hopping between the event loop and the cooperative pool (the
/// README's benchmark section has what that saves). The streams of one
/// connection share one core for their socket side; their upstream HTTP runs
/// on any loop.
/// Work in a request task must therefore never block: waits are awaits.
package final class EventLoopTaskExecutor: TaskExecutor {
    package let eventLoop: any EventLoop

    package init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        self.eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
