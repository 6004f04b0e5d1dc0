/// Ends generated text at the first stop string (`--stop`, the API's `stop`), as it streams.
/// Text that could be the start of a stop string is held back until the next piece shows
/// whether it is one, so a stop string is never shown, not even in part.
public struct StopStrings: Sendable {
    /// The stop strings, empty ones removed.
    public let stops: [String]
    private var pending = ""
    /// Whether a stop string has appeared: the generation should end.
    public private(set) var stopped = false

    /// Empty stop strings are ignored (they would end every text before it starts).
    public init(_ stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// Takes the next piece of text; returns what can be shown now.
    public mutating func append(_ text: String) -> String {
        guard !stopped else { return "" }
        pending += text
        if let cut = stops.compactMap({ pending.firstRange(of: $0)?.lowerBound }).min() {
            stopped = true
            defer { pending = "" }
            return String(pending[..<cut])
        }
        // The longest end of the pending text that begins some stop string.
        var held = 0
        for stop in stops {
            for length in stride(from: min(stop.count - 1, pending.count), to: held, by: -1)
            where pending.hasSuffix(stop.prefix(length)) {
                held = length
                break
            }
        }
        let shown = String(pending.dropLast(held))
        pending = String(pending.suffix(held))
        return shown
    }

    /// The text held back at the end of the generation (it was not a stop string after all).
    public mutating func finish() -> String {
        defer { pending = "" }
        return stopped ? "" : pending
    }
}
