/// A part of a drafter's learned state that can be saved as bytes and restored in another
/// process: Token Recycling's adjacency matrix, the measured cost curve. The state cache and
/// `--matrix` reach it through `Drafter.persistentState`, never through a drafter's type.
public protocol PersistentState: AnyObject {
    /// A stable name for the part ("matrix", "costs"), used in file names.
    var name: String { get }
    /// What else, besides the model, a saved copy is only valid for.
    var scope: PersistentScope { get }
    /// What else tells saved copies of the part apart, for file names ("k8": a matrix of 8
    /// candidates per token); empty when the model and the scope say everything.
    var variant: String { get }
    /// The file name extension of its format ("bin", "json").
    var fileExtension: String { get }
    /// The state as bytes (a self-checking format: magic, sizes, checksum).
    func encoded() -> [UInt8]
    /// Replaces the state with a saved copy, checking every byte first; on an error the
    /// state is unchanged. `source` names where the bytes came from, for messages.
    func restore(from bytes: [UInt8], source: String) throws(PersistentStateError)
}

/// What a saved copy of a state is valid for, besides the model file.
public enum PersistentScope: Sendable {
    /// Valid for every run of the same model file (what the model predicts).
    case model
    /// Valid only on the same CPU with the same thread count (what a pass costs).
    case machine
}

/// Why saved bytes were refused.
public struct PersistentStateError: Error, CustomStringConvertible {
    public let description: String
    /// An error whose message is `description`.
    public init(_ description: String) { self.description = description }
}
