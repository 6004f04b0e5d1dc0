/// How a recycler shapes its draft tree: one fixed template for every step, or chosen anew
/// before every step from measured costs and acceptance (`AutoTree`).
public enum TreeShape: Sendable, Equatable {
    /// The same template at every step.
    case fixed(TreeTemplate)
    /// Sized before every step from the cost curve and the hit rates (`AutoTree`).
    case auto

    /// "auto", a built-in template's name, or a JSON file of rank paths.
    public static func named(_ nameOrPath: String, k: Int) throws(TreeTemplate.Error) -> TreeShape {
        nameOrPath == "auto" ? .auto : .fixed(try TreeTemplate.named(nameOrPath, k: k))
    }

    /// The name reports use: the template's, or "auto".
    public var name: String {
        switch self {
        case let .fixed(template): template.name
        case .auto: "auto"
        }
    }
}
