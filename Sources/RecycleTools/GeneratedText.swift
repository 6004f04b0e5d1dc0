import RecycleModel

/// The text of a generation as it streams, as every front end shows it (the CLI prints it,
/// the server sends it): tokens decoded (a character split over tokens waits for its last
/// byte), stop tokens left out, and the text cut at the first stop string (text that may
/// begin one waits too).
public struct GeneratedText {
    private var decoder: StreamingDecoder
    private var stopStrings: StopStrings
    private let stopTokens: Set<Int32>

    public init(model: Model, stopStrings: [String]) {
        decoder = StreamingDecoder(tokenizer: model.tokenizer)
        self.stopStrings = StopStrings(stopStrings)
        stopTokens = model.stopTokens
    }

    /// Whether a stop string has appeared: the generation should end.
    public var stopped: Bool { stopStrings.stopped }

    /// The text that `token` makes visible now (often all of it, sometimes nothing yet).
    public mutating func append(_ token: Int32) -> String {
        stopTokens.contains(token) ? "" : stopStrings.append(decoder.append(token))
    }

    /// What was held back, once the generation has ended.
    public mutating func finish() -> String { stopStrings.append(decoder.finish()) + stopStrings.finish() }
}
