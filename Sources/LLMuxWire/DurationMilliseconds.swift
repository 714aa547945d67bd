extension Duration {
    /// Whole milliseconds, truncated (the unit of every `*_ms` field on the wire).
    public var wholeMilliseconds: Int {
        let (seconds, attoseconds) = self.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
