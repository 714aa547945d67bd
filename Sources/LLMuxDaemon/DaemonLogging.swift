import CSystemd
package import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Where llmuxd's log goes, chosen as systemd documents it: the journal's
/// native protocol when stderr is the journal stream (`JOURNAL_STREAM`
/// matches), `<N>`-prefixed text lines when started by systemd otherwise,
/// plain text when run by hand.
package enum DaemonLogging {
    package enum Destination: Sendable, Equatable {
        case journal
        case prefixedText
        case plainText
    }

    /// Picks the destination from the environment and what stderr is.
    package static func destination(environment: [String: String], stderrIdentity: (device: UInt64, inode: UInt64)?) -> Destination {
        if let stream = environment["JOURNAL_STREAM"], let identity = stderrIdentity {
            let parts = stream.split(separator: ":")
            if parts.count == 2, UInt64(parts[0]) == identity.device, UInt64(parts[1]) == identity.inode {
                return .journal
            }
        }
        if environment["INVOCATION_ID"] != nil || environment["NOTIFY_SOCKET"] != nil {
            return .prefixedText
        }
        return .plainText
    }

    /// The device and inode of file descriptor 2.
    package static func stderrIdentity() -> (device: UInt64, inode: UInt64)? {
        var info = stat()
        guard fstat(2, &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    /// syslog priorities, as the journal and `<N>` prefixes use them.
    package static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    /// Journal field names for the metadata llmux logs; other keys are upper-cased.
    package static func journalField(_ key: String) -> String {
        let upper = key.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
        var name = String(upper)
        if let first = name.first, first.isNumber || first == "_" { name = "F" + name }
        return name
    }

    /// A log handler for `destination` at `level`.
    package static func handler(label: String, destination: Destination, level: Logger.Level) -> any LogHandler {
        switch destination {
        case .journal:
            var handler = SystemdLogHandler(label: label, mode: .journal)
            handler.logLevel = level
            return handler
        case .prefixedText:
            var handler = SystemdLogHandler(label: label, mode: .prefixedText)
            handler.logLevel = level
            return handler
        case .plainText:
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// The log handler llmuxd uses under systemd: journal records with
/// structured fields (MESSAGE, PRIORITY, REQUEST_ID, MODEL, PROVIDER,
/// OUTCOME, ...), or `<N>message key=value` lines on stderr.
package struct SystemdLogHandler: LogHandler {
    package enum Mode: Sendable { case journal, prefixedText }

    package var metadata: Logger.Metadata = [:]
    package var logLevel: Logger.Level = .info
    let label: String
    let mode: Mode

    package init(label: String, mode: Mode) {
        self.label = label
        self.mode = mode
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        let merged = self.metadata.merging(event.metadata ?? [:]) { _, new in new }
        switch self.mode {
        case .prefixedText:
            var line = Self.prefixedLine(level: event.level, message: event.message, metadata: merged)
            line.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
        case .journal:
            Self.sendToJournal(Self.journalFields(level: event.level, message: event.message, metadata: merged, label: self.label))
        }
    }

    package static func prefixedLine(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata) -> String {
        var line = "<\(DaemonLogging.priority(level))>\(message)"
        for key in metadata.keys.sorted() { line += " \(key)=\(metadata[key]!)" }
        return line.replacing("\n", with: " ") + "\n"
    }

    package static func journalFields(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata, label: String) -> [String] {
        var fields = [
            "MESSAGE=\(message)",
            "PRIORITY=\(DaemonLogging.priority(level))",
            "SYSLOG_IDENTIFIER=llmuxd",
            "LOGGER=\(label)",
        ]
        for key in metadata.keys.sorted() {
            fields.append("\(DaemonLogging.journalField(key))=\(metadata[key]!)")
        }
        return fields
    }

    static func sendToJournal(_ fields: [String]) {
        // One block holds every field; each iovec points into it.
        let total = fields.reduce(0) { $0 + $1.utf8.count }
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: 1)
        defer { block.deallocate() }
        var vectors: [iovec] = []
        vectors.reserveCapacity(fields.count)
        var offset = 0
        for field in fields {
            let bytes = Array(field.utf8)
            let target = UnsafeMutableRawBufferPointer(rebasing: block[offset..<offset + bytes.count])
            target.copyBytes(from: bytes)
            vectors.append(iovec(iov_base: target.baseAddress, iov_len: bytes.count))
            offset += bytes.count
        }
        _ = sd_journal_sendv(&vectors, Int32(vectors.count))
    }
}
