// The colours of a drawn tree, one set for the dot and the SVG pictures (and the HTML page
// around the latter), so that accepted, rejected and the model's choice read the same in all.

/// Fill, outline and text colours of one kind of node.
public struct NodeColors: Sendable {
    /// Fill colour, as a CSS hex colour.
    public let fill: String
    /// Outline colour, as a CSS hex colour.
    public let stroke: String
    /// Text colour, as a CSS hex colour.
    public let text: String
}

/// The node colours of every tree drawing, by what the walk did with the node.
public enum TreePalette {
    /// The accepted path: green, and drawn bold.
    public static let accepted = NodeColors(fill: "#e3f5e8", stroke: "#1e8e3e", text: "#0b3d1b")
    /// Compared and rejected: gray.
    public static let rejected = NodeColors(fill: "#f1f3f4", stroke: "#9aa0a6", text: "#5f6368")
    /// Never reached: paler still.
    public static let unreached = NodeColors(fill: "#f8f9fa", stroke: "#d0d4d9", text: "#9aa0a6")
    /// The model's own token where the walk stopped: blue, dashed.
    public static let choice = NodeColors(fill: "#ffffff", stroke: "#1a73e8", text: "#174ea6")

    /// The colours of a node with `mark`.
    public static func colors(_ mark: StepTree.Mark) -> NodeColors {
        switch mark {
        case .accepted: accepted
        case .rejected: rejected
        case .unreached: unreached
        }
    }
}
