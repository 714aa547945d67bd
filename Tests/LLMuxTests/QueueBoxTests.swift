@testable import LLMuxHTTPFront
import Testing

/// The HTTP front's hand-over of the engine task to the queue's overflow handler.
@Suite("Queue box")
struct QueueBoxTests {
    /// A task that waits until it is cancelled (or gives up after a minute).
    static func waitingTask() -> Task<Void, Never> {
        Task { try? await Task.sleep(for: .seconds(60)) }
    }

    @Test func aCancelBeforeOrAfterTheTaskArrivesReachesIt() {
        let early = QueueBox()
        early.cancel()
        let first = Self.waitingTask()
        early.set(first)
        #expect(first.isCancelled)

        let late = QueueBox()
        let second = Self.waitingTask()
        late.set(second)
        #expect(!second.isCancelled)
        late.cancel()
        #expect(second.isCancelled)
    }

    @Test func setAndCancelRacingAlwaysCancel() async {
        for _ in 0..<500 {
            let box = QueueBox()
            let task = Self.waitingTask()
            await withTaskGroup(of: Void.self) { group in
                group.addTask { box.set(task) }
                group.addTask { box.cancel() }
            }
            #expect(task.isCancelled)
            task.cancel()
        }
    }
}
