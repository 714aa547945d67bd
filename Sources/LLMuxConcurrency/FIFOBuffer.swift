package import NIOCore

/// The buffer of a plain queue: elements in arrival order, one per `take()`.
package struct FIFOBuffer<Element: Sendable>: HandOffBuffer {
    /// Room for two at first, growing on demand: a request's route mailbox holds one or two
    /// events at a time, and CircularBuffer's default of 16 cost a request 3.3 KB for as long
    /// as it ran (its events are 200 bytes each).
    @usableFromInline
    var elements = CircularBuffer<Element>(initialCapacity: 2)

    @inlinable
    package init() {}

    @inlinable
    package var isReady: Bool { !self.elements.isEmpty }
    @inlinable
    package var count: Int { self.elements.count }

    @inlinable
    package mutating func append(_ element: Element) {
        self.elements.append(element)
    }

    @inlinable
    package mutating func take() -> Element {
        self.elements.removeFirst()
    }
}

extension HandOff {
    /// A queue of `Element`s.
    @inlinable
    package convenience init<Element>() where Buffer == FIFOBuffer<Element> {
        self.init(FIFOBuffer())
    }

    /// Queues `element`; `false` (and the element dropped) once the queue is closed.
    @inlinable
    @discardableResult
    package func append<Element>(_ element: Element) -> Bool where Buffer == FIFOBuffer<Element> {
        self.withBuffer { buffer, closed in
            guard !closed else { return false }
            buffer.append(element)
            return true
        }
    }
}
