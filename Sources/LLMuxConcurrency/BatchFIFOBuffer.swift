/// The buffer of a queue whose consumer takes everything waiting at once: a
/// consumer that writes what it takes to a socket then makes one write for
/// all the elements that arrived while it was busy, instead of one per
/// element.
package struct BatchFIFOBuffer<Element: Sendable>: HandOffBuffer {
    @usableFromInline
    var elements: [Element] = []

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

    /// Every waiting element, oldest first.
    @inlinable
    package mutating func take() -> [Element] {
        var taken: [Element] = []
        swap(&taken, &self.elements)
        return taken
    }
}
