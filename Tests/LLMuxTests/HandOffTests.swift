import LLMuxConcurrency
import NIOConcurrencyHelpers
import Testing

/// The one hand-off behind every single-consumer queue: nothing lost, nothing
/// twice, order kept per producer, a waiting consumer woken, closing drains
/// first. CI also runs these under the thread sanitizer.
@Suite("Hand-off")
struct HandOffTests {
    @Test func aWaitingConsumerIsWokenAndOrderIsKept() async {
        let queue = HandOff<FIFOBuffer<Int>>()
        let consumer = Task { () -> [Int] in
            var seen: [Int] = []
            while let next = await queue.next() { seen.append(next) }
            return seen
        }
        for value in 0..<100 { #expect(queue.append(value)) }
        queue.close()
        #expect(await consumer.value == Array(0..<100))
    }

    @Test func closingDrainsWhatIsQueuedThenEndsAndRefusesMore() async {
        let queue = HandOff<FIFOBuffer<String>>()
        queue.append("a")
        queue.append("b")
        queue.close()
        #expect(queue.append("late") == false)
        #expect(await queue.next() == "a")
        #expect(await queue.next() == "b")
        #expect(await queue.next() == nil)
        #expect(await queue.next() == nil)
    }

    @Test func aCloseWakesAnIdleConsumerWithNil() async {
        let queue = HandOff<FIFOBuffer<Int>>()
        let consumer = Task { await queue.next() }
        // Let the consumer park, or not: either way it must end with nil.
        await Task.yield()
        queue.close()
        #expect(await consumer.value == nil)
    }

    /// A cancelled consumer still gets every element: the hand-off is deaf to cancellation.
    @Test func aCancelledConsumerStillCollectsEverything() async {
        let queue = HandOff<FIFOBuffer<Int>>()
        let consumer = Task { () -> Int in
            var count = 0
            while await queue.next() != nil { count += 1 }
            return count
        }
        consumer.cancel()
        for value in 0..<10 { queue.append(value) }
        queue.close()
        #expect(await consumer.value == 10)
    }

    /// A batch buffer hands over everything that waits in one take, in order, and ends after close.
    @Test func aBatchBufferHandsOverEverythingWaitingAtOnce() async {
        let queue = HandOff<BatchFIFOBuffer<Int>>(BatchFIFOBuffer())
        for value in 0..<5 {
            queue.withBuffer { buffer, _ in buffer.append(value) }
        }
        #expect(await queue.next() == [0, 1, 2, 3, 4])
        queue.withBuffer { buffer, _ in buffer.append(5) }
        queue.close()
        #expect(await queue.next() == [5])
        #expect(await queue.next() == nil)
    }

    /// A batch consumer woken by the first element still sees every later one, each once.
    @Test func aBatchConsumerLosesNothingUnderConcurrentProducers() async {
        let queue = HandOff<BatchFIFOBuffer<Int>>(BatchFIFOBuffer())
        let consumer = Task { () -> [Int] in
            var seen: [Int] = []
            while let batch = await queue.next() { seen.append(contentsOf: batch) }
            return seen
        }
        await withTaskGroup(of: Void.self) { group in
            for producer in 0..<4 {
                group.addTask {
                    for n in 0..<1_000 { queue.withBuffer { buffer, _ in buffer.append(producer * 1_000 + n) } }
                }
            }
        }
        queue.close()
        let seen = await consumer.value
        #expect(seen.count == 4_000)
        #expect(Set(seen).count == 4_000)
        for producer in 0..<4 {
            let own = seen.filter { $0 / 1_000 == producer }
            #expect(own == own.sorted())
        }
    }

    @Test func manyProducersLoseNothingAndKeepTheirOwnOrder() async {
        let queue = HandOff<FIFOBuffer<(producer: Int, n: Int)>>()
        let producers = 8
        let each = 2_000
        let consumer = Task { () -> [[Int]] in
            var seen = Array(repeating: [Int](), count: producers)
            while let next = await queue.next() { seen[next.producer].append(next.n) }
            return seen
        }
        await withTaskGroup(of: Void.self) { group in
            for producer in 0..<producers {
                group.addTask { for n in 0..<each { queue.append((producer, n)) } }
            }
        }
        queue.close()
        let seen = await consumer.value
        #expect(seen.allSatisfy { $0 == Array(0..<each) })
    }

    /// A buffer that batches: everything pending goes out in one take, and a held item waits.
    struct Batches: HandOffBuffer {
        var items: [Int] = []
        var held = false
        var isReady: Bool { !self.items.isEmpty && !self.held }
        mutating func take() -> [Int] {
            defer { self.items.removeAll() }
            return self.items
        }
    }

    @Test func aBufferDecidesWhenItIsReadyAndWhatABatchIs() async {
        let queue = HandOff(Batches())
        queue.withBuffer { buffer, _ in
            buffer.held = true
            buffer.items += [1, 2, 3]
        }
        let consumer = Task { await queue.next() }
        await Task.yield()
        queue.withBuffer { buffer, _ in buffer.held = false }
        #expect(await consumer.value == [1, 2, 3])
        queue.withBuffer { buffer, _ in
            buffer.held = true
            buffer.items = [4]
        }
        // Closing releases what was held.
        queue.close { $0.held = false }
        #expect(await queue.next() == [4])
        #expect(await queue.next() == nil)
    }
}
