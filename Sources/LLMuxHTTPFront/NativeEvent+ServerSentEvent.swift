import LLMuxWire
import NIOCore

extension NativeEvent {
    /// The event as a server-sent event: its `event:` line, its data line by line, the blank
    /// line; the data as the upstream sent it.
    func write(into buffer: inout ByteBuffer) {
        if let name = self.event { buffer.writeString("event: \(name)\n") }
        for line in self.data.split(separator: "\n", omittingEmptySubsequences: false) {
            buffer.writeString("data: ")
            buffer.writeSubstring(line)
            buffer.writeString("\n")
        }
        buffer.writeString("\n")
    }
}
